"""Orphan reads shared by the pages, the API and the CSV export (Platform admins and Managers read)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet, Sum

from portal.accounts import authz

from .models import Orphan

REMOVABLE = (Orphan.FOUND, Orphan.FAILED, Orphan.REMOVING)


def orphans_visible(user: Any) -> QuerySet[Orphan]:
    if not authz.orphans_can(user, authz.VIEW):
        return Orphan.objects.none()
    return Orphan.objects.select_related("removed_by").order_by("state", "kind", "location", "name", "pk")


def orphans_monthly_total(orphans: QuerySet[Orphan]) -> list[dict[str, Any]]:
    """The monthly cost of ``orphans`` per currency: [{"currency", "total"}]."""
    rows = orphans.order_by().values("currency").annotate(total=Sum("monthly_cost"))
    return [{"currency": r["currency"], "total": r["total"] or Decimal(0)} for r in rows]


def orphans_removal_total(orphans: list[Orphan]) -> dict[str, Decimal]:
    """What the chosen orphans cost per month, per currency."""
    totals: dict[str, Decimal] = {}
    for orphan in orphans:
        totals[orphan.currency] = totals.get(orphan.currency, Decimal(0)) + (orphan.monthly_cost or Decimal(0))
    return totals
