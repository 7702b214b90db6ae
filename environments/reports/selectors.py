"""The managers' dashboard figures: what exists now (by team, owner, stage, age; the longest-lived and the idle
non-production environments), what happened in the period (created and destroyed per week, top creators) and
what it cost (the cost part's totals per team and month, with the saving from sleep and expiry).

Every figure is one or a few grouped queries whatever the number of rows (the number of cost queries grows
with the months of the period, never with the data), and every row carries ``list_query``: the environment
list's filters (environments.selectors.environment_list) that show exactly the environments it counts.

Visibility: the rows come from ``environment_list`` and ``cost_samples_visible``, so Managers and Platform
admins see everything and others only their own and their teams' environments.

Sources, and why:
- created: ``Environment.created_at`` (destroyed environments keep their row);
- destroyed: the audit trail's ``environment.destroyed`` event (the environment keeps no destruction time);
- top creators: ``Environment.owner``, which ``environment_create`` sets to the creating account and nothing
  reassigns. Unlike the audit's ``environment.create`` events (which also record refused attempts and keep the
  stage only inside their JSON details) the rows carry team, stage and creation time, so every dashboard filter
  applies exactly and each count links to the environment list showing exactly those environments. A deleted
  account's environments count under "No owner" (the owner is SET_NULL).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.db.models import CharField, Count, F, Q, QuerySet, Subquery
from django.db.models.functions import Cast, TruncWeek
from django.urls import reverse
from django.utils import timezone

from portal.audit.models import AuditEvent

from ..cost.selectors import CostRow, cost_samples_filtered, cost_samples_visible, cost_total, cost_totals, month_bounds
from ..models import STAGES, Environment
from ..selectors import environment_list

PERIOD_WEEKS = (4, 13, 26, 52)
DEFAULT_WEEKS = 13
DEFAULT_IDLE_HOURS = 24
TOP = 10  # rows of the ranked tables on the page (their CSV and API give every row)
STAGE_LABELS = dict(STAGES)
# (key, label, from days, to days): an environment of age a falls in [from, to).
AGE_BUCKETS = (("lt1d", "Less than 1 day", 0, 1), ("1to7d", "1–7 days", 1, 7), ("7to30d", "7–30 days", 7, 30),
               ("gt30d", "More than 30 days", 30, None))


def iso(value: datetime) -> str:
    """A time as the environment list's filters read it (UTC, "Z", no "+" to escape in a URL)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class ReportScope:
    """The dashboard's filters at one moment ``now`` (tests pass it; pages use the request's time)."""

    team: str = ""
    stage: str = ""
    weeks: int = DEFAULT_WEEKS
    idle_hours: int = DEFAULT_IDLE_HOURS
    now: datetime = field(default_factory=timezone.now)

    def __post_init__(self) -> None:
        # Whole seconds: the links carry the same bounds the figures were counted with.
        object.__setattr__(self, "now", self.now.replace(microsecond=0))

    @property
    def start(self) -> datetime:
        """Midnight of the Monday ``weeks - 1`` weeks before this week's: ``weeks`` calendar weeks, this one
        included (in the server's time zone, as the database's week truncation)."""
        today = timezone.localtime(self.now).replace(hour=0, minute=0, second=0, microsecond=0)
        return today - timedelta(days=today.weekday(), weeks=self.weeks - 1)

    @property
    def idle_cutoff(self) -> datetime:
        return self.now - timedelta(hours=self.idle_hours)

    def list_filters(self, **extra: str) -> dict[str, str]:
        """The environment list's filters for this scope's team and stage, plus ``extra``."""
        base = {"team": self.team, "stage": self.stage, **extra}
        return {k: v for k, v in base.items() if v}


def environment_list_url(query: dict[str, str] | None) -> str:
    """The environment list page showing ``query``'s environments ("" for None: nothing to link)."""
    return "" if query is None else f"{reverse('environment-list')}?{urlencode(query)}"


@dataclass(frozen=True)
class CountRow:
    """A count of environments; ``list_query`` shows them on the environment list (None: no such filter)."""

    key: str
    label: str
    count: int
    list_query: dict[str, str] | None

    @property
    def list_url(self) -> str:
        return environment_list_url(self.list_query)


@dataclass(frozen=True)
class WeekRow:
    week: datetime  # the Monday that starts it
    created: int
    destroyed: int
    created_query: dict[str, str]
    destroyed_query: dict[str, str]

    @property
    def created_url(self) -> str:
        return environment_list_url(self.created_query)

    @property
    def destroyed_url(self) -> str:
        return environment_list_url(self.destroyed_query)


@dataclass(frozen=True)
class CostMonths:
    """Cost per team per month (the chart), and per team over the period with the saving (the table)."""

    months: list[str]  # "2026-12", oldest first
    teams: list[str]  # labels, most expensive over the period first
    cells: dict[tuple[str, str], Decimal]  # (month, team label) -> cost
    by_team: list[CostRow]
    total: CostRow

    def cells_as_rows(self) -> list[MonthCost]:
        """The chart's numbers as rows: every month and team, 0 where nothing was sampled."""
        return [MonthCost(month=m, team=t, cost=self.cells.get((m, t), Decimal(0)))
                for m in self.months for t in self.teams]

    def series(self) -> list[dict[str, Any]]:
        """One series per team, a value per month (the chart's and its table's layout)."""
        return [{"team": t, "costs": [self.cells.get((m, t), Decimal(0)) for m in self.months]} for t in self.teams]


@dataclass(frozen=True)
class MonthCost:
    month: str
    team: str
    cost: Decimal


def live_environments(user: Any, scope: ReportScope) -> QuerySet[Environment]:
    """The live (not destroyed) environments ``user`` may see, of the scope's team and stage."""
    return environment_list(user=user, filters=scope.list_filters())


def _all_environments(user: Any, scope: ReportScope) -> QuerySet[Environment]:
    return environment_list(user=user, filters=scope.list_filters(status="any"))


GROUPS = {  # by -> (key field, label field)
    "team": ("team__slug", "team__name"),
    "owner": ("owner__username", "owner__username"),
    "stage": ("stage", "stage"),
}


def environments_by(user: Any, scope: ReportScope, *, by: str) -> list[CountRow]:
    """Live environments counted by team, owner or stage, most first. One query."""
    key_field, label_field = GROUPS[by]
    rows = (live_environments(user, scope).order_by().values(key_field, label_field)
            .annotate(count=Count("id")).order_by("-count", key_field))
    result = []
    for row in rows:
        key = row[key_field] or ""
        label = STAGE_LABELS.get(key, key) if by == "stage" else row[label_field]
        query = scope.list_filters(**{by: key}) if key else None  # "No owner" has no list filter
        result.append(CountRow(key=key, label=label or f"No {by}", count=row["count"], list_query=query))
    return result


def _age_bounds(scope: ReportScope, bucket: tuple) -> tuple[datetime | None, datetime]:
    """[created after, created before) of an age bucket."""
    _, _, youngest, oldest = bucket
    return (scope.now - timedelta(days=oldest) if oldest else None), scope.now - timedelta(days=youngest)


def environments_by_age(user: Any, scope: ReportScope) -> list[CountRow]:
    """Live environments by age (<1 day, 1–7, 7–30, >30 days), every bucket even when empty. One query."""
    counts, bounds = {}, {}
    for bucket in AGE_BUCKETS:
        after, before = _age_bounds(scope, bucket)
        bounds[bucket[0]] = (after, before)
        window = Q(created_at__lt=before) & (Q(created_at__gte=after) if after else Q())
        counts[bucket[0]] = Count("id", filter=window)
    totals = live_environments(user, scope).order_by().aggregate(**counts)
    rows = []
    for key, label, _, _ in AGE_BUCKETS:
        after, before = bounds[key]
        query = scope.list_filters(created_before=iso(before), **({"created_after": iso(after)} if after else {}))
        rows.append(CountRow(key=key, label=label, count=totals[key], list_query=query))
    return rows


def weeks_of(scope: ReportScope) -> list[datetime]:
    return [scope.start + timedelta(weeks=i) for i in range(scope.weeks)]


def created_destroyed_per_week(user: Any, scope: ReportScope) -> list[WeekRow]:
    """Environments created and destroyed in each week of the period (oldest first, empty weeks as 0). Two
    queries. Destroyed counts the environments whose ``environment.destroyed`` event falls in the week."""
    start, now = scope.start, scope.now
    environments = _all_environments(user, scope)
    created = dict(environments.filter(created_at__gte=start, created_at__lt=now).order_by()
                   .annotate(week=TruncWeek("created_at")).values_list("week").annotate(n=Count("id")))
    visible_ids = environments.order_by().annotate(sid=Cast("pk", CharField())).values("sid")
    destroyed = dict(
        AuditEvent.objects.filter(action="environment.destroyed", outcome=AuditEvent.SUCCESS,
                                  object_type="environments.environment", timestamp__gte=start, timestamp__lt=now,
                                  object_id__in=Subquery(visible_ids))
        .order_by().annotate(week=TruncWeek("timestamp")).values_list("week")
        .annotate(n=Count("object_id", distinct=True)))
    rows = []
    for week in weeks_of(scope):
        until = min(week + timedelta(weeks=1), now)
        rows.append(WeekRow(
            week=week, created=created.get(week, 0), destroyed=destroyed.get(week, 0),
            created_query=scope.list_filters(status="any", created_after=iso(week), created_before=iso(until)),
            destroyed_query=scope.list_filters(status=Environment.DESTROYED, destroyed_after=iso(week),
                                               destroyed_before=iso(until))))
    return rows


def top_creators(user: Any, scope: ReportScope, *, limit: int | None = TOP) -> list[CountRow]:
    """Who created the most environments in the period (owners; destroyed ones count). One query."""
    rows = (_all_environments(user, scope).filter(created_at__gte=scope.start, created_at__lt=scope.now)
            .order_by().values("owner__username").annotate(count=Count("id")).order_by("-count", "owner__username"))
    window = {"created_after": iso(scope.start), "created_before": iso(scope.now)}
    return [CountRow(key=row["owner__username"] or "", label=row["owner__username"] or "No owner",
                     count=row["count"],
                     list_query=scope.list_filters(status="any", owner=row["owner__username"], **window)
                     if row["owner__username"] else None)
            for row in (rows[:limit] if limit else rows)]


def longest_lived(user: Any, scope: ReportScope) -> QuerySet[Environment]:
    """Live environments, oldest first (the page shows the first ``TOP``; CSV and API every one)."""
    return live_environments(user, scope).order_by("created_at", "id")


def idle_list_query(scope: ReportScope) -> dict[str, str]:
    return scope.list_filters(idle_before=iso(scope.idle_cutoff))


def idle_environments(user: Any, scope: ReportScope) -> QuerySet[Environment]:
    """Live non-production environments without activity for ``idle_hours`` (SleepState.last_activity_at older,
    or never active), least recently active first: exactly the environment list's ``idle_before`` filter."""
    return (environment_list(user=user, filters=idle_list_query(scope))
            .annotate(last_activity_at=F("sleep_state__last_activity_at"))
            .order_by(F("last_activity_at").asc(nulls_first=True), "created_at", "id"))


def months_of(scope: ReportScope) -> list[str]:
    """The calendar months ("YYYY-MM") the period touches, oldest first."""
    month, last = timezone.localtime(scope.start).strftime("%Y-%m"), timezone.localtime(scope.now).strftime("%Y-%m")
    months = [month]
    while month != last:
        month = month_bounds(month)[1].strftime("%Y-%m")
        months.append(month)
    return months


def period_cost_samples(user: Any, scope: ReportScope):
    """The cost samples ``user`` may see, of the scope's team and stage, started in the period."""
    return cost_samples_filtered(cost_samples_visible(user), {"team": scope.team, "stage": scope.stage}).filter(
        started_at__gte=scope.start, started_at__lt=scope.now)


def cost_by_team(user: Any, scope: ReportScope) -> list[CostRow]:
    """The cost part's totals per team over the period, with the saving. One query."""
    return cost_totals(period_cost_samples(user, scope), by="team")


def cost_by_team_and_month(user: Any, scope: ReportScope) -> CostMonths:
    """The cost part's totals (``cost_totals``) over the samples ``user`` may see in the period: per team over
    the period (with the saving) and per team in each month. 2 + one query per month of the period."""
    samples = period_cost_samples(user, scope)
    by_team = cost_totals(samples, by="team")
    months, cells = months_of(scope), {}
    for month in months:
        start, end = month_bounds(month)
        for row in cost_totals(samples.filter(started_at__gte=start, started_at__lt=end), by="team"):
            cells[(month, row.label)] = row.cost
    return CostMonths(months=months, teams=[row.label for row in by_team], cells=cells, by_team=by_team,
                      total=cost_total(samples))


@dataclass(frozen=True)
class ReportSummary:
    period_start: datetime
    period_end: datetime
    live: int
    created: int
    destroyed: int
    idle: int
    currency: str
    cost: Decimal
    saving: Decimal


def report_summary(user: Any, scope: ReportScope) -> ReportSummary:
    """The dashboard's key figures (the API's summary). Six queries."""
    weeks = created_destroyed_per_week(user, scope)
    samples = period_cost_samples(user, scope)
    total = cost_total(samples)
    return ReportSummary(period_start=scope.start, period_end=scope.now, live=live_environments(user, scope).count(),
                         created=sum(w.created for w in weeks), destroyed=sum(w.destroyed for w in weeks),
                         idle=idle_environments(user, scope).count(), currency=total.currency, cost=total.cost,
                         saving=total.saving)
