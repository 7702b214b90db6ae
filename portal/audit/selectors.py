"""Reading the audit trail, with the permission check in one place."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from portal.accounts import authz
from portal.csv_export import csv_rows

from .filters import AuditEventFilter
from .models import AuditEvent

CSV_COLUMNS = ["timestamp", "actor_name", "actor_kind", "team_slug", "action", "object_type", "object_id",
               "object_repr", "outcome", "error", "request_id", "source_ip", "details"]


def audit_event_list(
    *, user: Any, filters: dict[str, Any] | None = None
) -> tuple[QuerySet[AuditEvent], AuditEventFilter]:
    """The events ``user`` may read, filtered. Raises PermissionDenied for other roles."""
    if not authz.audit_can(user):
        raise PermissionDenied("The audit trail is open to Managers and Platform admins.")
    filterset = AuditEventFilter(filters or {}, queryset=AuditEvent.objects.all())
    return filterset.qs, filterset


def _csv_cells(event: AuditEvent) -> list[Any]:
    row = [getattr(event, col) for col in CSV_COLUMNS[:-1]]
    row[0] = event.timestamp.isoformat()
    return [*row, json.dumps(event.details, sort_keys=True)]


def audit_events_csv(queryset: QuerySet[AuditEvent]) -> Iterator[str]:
    """Stream the rows as CSV without loading the whole set into memory."""
    return csv_rows(CSV_COLUMNS, queryset.iterator(chunk_size=2000), _csv_cells)
