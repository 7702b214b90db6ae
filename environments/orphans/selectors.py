"""Orphan reads shared by the pages, the API and the CSV export (Platform admins and Managers read)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Case, IntegerField, QuerySet, Sum, Value, When

from portal.accounts import authz
from portal.jobs.models import Job

from .models import Orphan

SWEEP_KIND, REMOVE_KIND = "orphans.sweep", "orphans.remove"
REMOVABLE = (Orphan.FOUND, Orphan.FAILED, Orphan.REMOVING)
STATE_ORDER = (Orphan.FOUND, Orphan.FAILED, Orphan.REMOVING, Orphan.REMOVED, Orphan.GONE)


def orphans_visible(user: Any) -> QuerySet[Orphan]:
    if not authz.orphans_can(user, authz.VIEW):
        return Orphan.objects.none()
    # Open ones first (what an admin acts on), then what happened to the others.
    rank = Case(*(When(state=state, then=Value(i)) for i, state in enumerate(STATE_ORDER)), output_field=IntegerField())
    return (Orphan.objects.select_related("removed_by").annotate(state_rank=rank)
            .order_by("state_rank", "kind", "location", "name", "pk"))


def orphans_monthly_total(orphans: QuerySet[Orphan]) -> list[dict[str, Any]]:
    """The monthly cost of ``orphans`` per currency: [{"currency", "total"}]."""
    rows = orphans.order_by().values("currency").annotate(total=Sum("monthly_cost"))
    return [{"currency": r["currency"], "total": r["total"] or Decimal(0)} for r in rows]


def orphans_last_sweep() -> Job | None:
    return Job.objects.filter(kind=SWEEP_KIND).order_by("-created_at").first()


def orphans_removal_total(orphans: list[Orphan]) -> dict[str, Decimal]:
    """What the chosen orphans cost per month, per currency."""
    totals: dict[str, Decimal] = {}
    for orphan in orphans:
        totals[orphan.currency] = totals.get(orphan.currency, Decimal(0)) + (orphan.monthly_cost or Decimal(0))
    return totals
