from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet

from portal.accounts import rules

from .models import DataCopy, DataStore


def data_copy_list(*, user: Any, filters: dict[str, str] | None = None) -> QuerySet[DataCopy]:
    """Copies ``user`` may see (into environments of their teams, or all for Managers/admins), filtered."""
    queryset = DataCopy.objects.select_related("source", "target", "team", "started_by", "job")
    visible = rules.visible_filter(user, owner_field="started_by")
    if visible is not None:
        queryset = queryset.filter(visible)
    filters = filters or {}
    if filters.get("state"):
        queryset = queryset.filter(state=filters["state"])
    if filters.get("environment"):
        name = filters["environment"]
        queryset = queryset.filter(source__name=name) | queryset.filter(target__name=name)
    if filters.get("target"):
        queryset = queryset.filter(target_id=filters["target"])
    if filters.get("team"):
        queryset = queryset.filter(team__slug=filters["team"])
    return queryset.order_by("-created_at")


def data_store_list(*, user: Any, environment_id: int | None = None) -> QuerySet[DataStore]:
    queryset = DataStore.objects.select_related("environment", "environment__team", "server")
    visible = rules.visible_filter(user, owner_field="environment__owner", team_field="environment__team")
    if visible is not None:
        queryset = queryset.filter(visible)
    if environment_id is not None:
        queryset = queryset.filter(environment_id=environment_id)
    return queryset.exclude(state=DataStore.REMOVED)


CSV_COLUMNS = ["id", "created_at", "source", "target", "team", "stores", "state", "started_by", "rows", "verified",
               "error"]


class _Echo:
    def write(self, value: str) -> str:
        return value


def data_copies_csv(queryset: QuerySet[DataCopy]) -> Iterator[str]:
    """Stream the copies as CSV (cells that spreadsheets would execute are defused)."""
    from portal.audit.selectors import _csv_cell

    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for copy in queryset.iterator(chunk_size=1000):
        rows = sum(int(v.get("counters", {}).get("rows", 0)) for v in copy.verification.values())
        verified = all(v.get("verified") for v in copy.verification.values()) if copy.verification else False
        row = [copy.pk, copy.created_at.isoformat(), copy.source.name, copy.target.name, copy.team.slug,
               " ".join(copy.stores), copy.state, copy.started_by.username if copy.started_by else "", rows,
               verified, copy.error]
        yield writer.writerow([_csv_cell(v) for v in row])
