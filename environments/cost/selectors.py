"""Cost reads shared by the pages, the API, the budgets and the managers' reports.

What the figures mean:
- ``cost``: what the samples cost at the prices of the time (requests x time for pods, bytes x time for
  S3, node-hours for nodes).
- ``would_cost``: what they would have cost with the environment awake and alive. An awake sample's
  would_cost equals its cost; an asleep one's is its awake requests' cost; an environment destroyed by
  expiry gets one sample from its destruction to the end of that month with cost 0 and would_cost its
  last awake hourly cost x those hours (the expiry saving).
- ``saving`` = would_cost - cost.
Node samples (the cluster's own bill) and pod/storage samples (each environment's share of it) measure the
same money twice, so totals count the environment kinds unless asked otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import F, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from portal.accounts import authz, rules

from ..models import CostSample, TeamBudget

ENVIRONMENT_KINDS = (CostSample.PODS, CostSample.STORAGE)
GROUPINGS = ("team", "owner", "stage", "cluster", "environment", "month")
# (key expression, label expression) per grouping; labels come from the same row, one query per table.
_GROUP_FIELDS: dict[str, tuple[str, str]] = {
    "team": ("team_id", "team__name"),
    "owner": ("owner_id", "owner__username"),
    "stage": ("stage", "stage"),
    "cluster": ("cluster_id", "cluster__name"),
    "environment": ("environment_id", "environment__name"),
}
NONE_LABELS = {"team": "No team", "owner": "No owner", "stage": "No stage", "cluster": "No cluster",
               "environment": "No environment", "month": "No month"}
ZERO = Decimal(0)


@dataclass(frozen=True)
class CostRow:
    """One line of a cost table: a team, owner, stage, cluster, environment or month ("2026-12")."""

    key: Any
    label: str
    cost: Decimal
    would_cost: Decimal
    saving: Decimal
    asleep_hours: float
    idle_hours: float
    currency: str


def cost_samples_visible(user: Any) -> QuerySet[CostSample]:
    """The samples ``user`` may see: an environment's samples like the environment (its owner, its team's
    members, Managers, Platform admins); node samples (no team, no owner) only Managers and admins."""
    queryset = CostSample.objects.all()
    visible = rules.visible_filter(user)
    return queryset if visible is None else queryset.filter(visible)


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The start of month ``"YYYY-MM"`` and of the next one, in the current time zone.
    Raises ValueError for anything else."""
    start = timezone.make_aware(datetime.strptime(month, "%Y-%m"))
    following = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return start, following


def cost_samples_filtered(samples: QuerySet[CostSample], filters: dict[str, str]) -> QuerySet[CostSample]:
    """``samples`` narrowed by the page's/API's filters: team (slug), stage, cluster (name), environment
    (id), month ("YYYY-MM"; a malformed month is a ValueError the caller turns into a 400)."""
    if filters.get("team"):
        samples = samples.filter(team__slug=filters["team"])
    if filters.get("stage"):
        samples = samples.filter(stage=filters["stage"])
    if filters.get("cluster"):
        samples = samples.filter(cluster__name=filters["cluster"])
    if filters.get("environment"):
        samples = samples.filter(environment_id=filters["environment"])
    if filters.get("month"):
        start, end = month_bounds(filters["month"])
        samples = samples.filter(started_at__gte=start, started_at__lt=end)
    return samples


def cost_totals(samples: QuerySet[CostSample], *, by: str,
                kinds: tuple[str, ...] | None = ENVIRONMENT_KINDS) -> list[CostRow]:
    """Totals of ``samples`` grouped ``by`` team, owner, stage, cluster, environment or month, most
    expensive first (months: newest first). ``kinds=None`` counts every kind (node samples too).
    One query. Raises ValueError for an unknown grouping."""
    if by not in GROUPINGS:
        raise ValueError(f"cannot group costs by {by!r}; use one of {', '.join(GROUPINGS)}")
    if kinds is not None:
        samples = samples.filter(kind__in=kinds)
    if by == "month":
        grouped = samples.annotate(group_key=TruncMonth("started_at"), group_label=F("currency"))
    else:
        key, label = _GROUP_FIELDS[by]
        grouped = samples.annotate(group_key=F(key), group_label=F(label))
    rows = (grouped.order_by().values("group_key", "group_label", "currency")
            .annotate(total_cost=Sum("cost"), total_would=Sum("would_cost"),
                      asleep_seconds=Sum("seconds", filter=Q(asleep=True)),
                      idle_seconds=Sum("seconds", filter=Q(idle=True))))
    result = [_row(by, row) for row in rows]
    if by == "month":
        return sorted(result, key=lambda r: r.key or "", reverse=True)
    return sorted(result, key=lambda r: (-r.cost, r.label))


def _row(by: str, row: dict[str, Any]) -> CostRow:
    key = row["group_key"]
    if by == "month" and key is not None:
        key = timezone.localtime(key).strftime("%Y-%m") if timezone.is_aware(key) else key.strftime("%Y-%m")
        label = key
    else:
        label = row["group_label"] if by != "month" else None
    cost = row["total_cost"] or ZERO
    would_cost = row["total_would"] or ZERO
    return CostRow(key=key, label=str(label) if label not in (None, "") else NONE_LABELS[by], cost=cost,
                   would_cost=would_cost, saving=would_cost - cost,
                   asleep_hours=(row["asleep_seconds"] or 0) / 3600, idle_hours=(row["idle_seconds"] or 0) / 3600,
                   currency=row["currency"])


def cost_total(samples: QuerySet[CostSample], *, kinds: tuple[str, ...] | None = ENVIRONMENT_KINDS) -> CostRow:
    """All of ``samples`` as one row (key None, label "Total"; the first currency met if several)."""
    if kinds is not None:
        samples = samples.filter(kind__in=kinds)
    row = samples.order_by().aggregate(total_cost=Sum("cost"), total_would=Sum("would_cost"),
                                       asleep_seconds=Sum("seconds", filter=Q(asleep=True)),
                                       idle_seconds=Sum("seconds", filter=Q(idle=True)))
    currency = samples.order_by().values_list("currency", flat=True).first() or "USD"
    cost, would_cost = row["total_cost"] or ZERO, row["total_would"] or ZERO
    return CostRow(key=None, label="Total", cost=cost, would_cost=would_cost, saving=would_cost - cost,
                   asleep_hours=(row["asleep_seconds"] or 0) / 3600, idle_hours=(row["idle_seconds"] or 0) / 3600,
                   currency=currency)


def budgets_visible(user: Any) -> QuerySet[TeamBudget]:
    """The budgets ``user`` may read (``authz.budget_can``): every one for Managers and Platform admins,
    their own teams' for the other roles, none without a role."""
    budgets = TeamBudget.objects.select_related("team").order_by("team__name")
    if not authz.has_role(user):
        return budgets.none()
    if rules.is_platform_admin(user) or rules.is_manager(user):
        return budgets
    return budgets.filter(team_id__in=rules.team_ids(user))
