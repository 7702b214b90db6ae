from __future__ import annotations

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
