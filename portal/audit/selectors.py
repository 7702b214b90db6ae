"""Reading the audit trail, with the permission check in one place."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from portal.accounts import authz

from .filters import AuditEventFilter
from .models import AuditEvent


def audit_event_list(
    *, user: Any, filters: dict[str, Any] | None = None
) -> tuple[QuerySet[AuditEvent], AuditEventFilter]:
    """The events ``user`` may read, filtered. Raises PermissionDenied for other roles."""
    if not authz.audit_can(user):
        raise PermissionDenied("The audit trail is open to Managers and Platform admins.")
    filterset = AuditEventFilter(filters or {}, queryset=AuditEvent.objects.all())
    return filterset.qs, filterset

