"""What the lifecycle tests read back: the audited status changes of an object, and a job's log."""

from __future__ import annotations

from django.db.models import Model

from portal.audit.models import AuditEvent
from portal.jobs.models import Job


def status_changes(obj: Model, action: str) -> list[tuple[str, str]]:
    """The ``action`` (``<kind>.status_changed``) audit events of ``obj``, oldest first, as (from, to)."""
    events = AuditEvent.objects.filter(action=action, object_id=str(obj.pk)).order_by("id")
    return [(e.details["from"], e.details["to"]) for e in events]


def job_log(job: Job) -> str:
    """Every log line ``job`` has written so far, in order."""
    job.refresh_from_db()
    return "\n".join(job.events.filter(kind="log").order_by("seq").values_list("text", flat=True))
