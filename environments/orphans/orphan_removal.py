"""Removing orphans: the job an admin's confirmation queues (kind ``orphans.remove``), and the same
steps when the sweep removes automatically.

Each orphan is re-checked just before its deletion (an environment created meanwhile with that
namespace, a store tracked again, a cluster registered again): one that is no longer an orphan becomes
``gone`` and is left alone. Deleting is idempotent (already gone = removed); an error leaves it
``failed`` with the reason, for an admin to retry. Every removal is audited (``orphan.removed``).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.audit.services import audit_record
from portal.jobs.models import Job
from portal.jobs.reporting import JobReporter
from portal.status_machine import IllegalTransition

from .lifecycle import orphan_transition
from .models import Orphan
from .orphan_kinds import finder_for


def _facts(orphan: Orphan) -> dict:
    return {"kind": orphan.kind, "location": orphan.location, "name": orphan.name,
            "monthly_cost": str(orphan.monthly_cost or 0), "currency": orphan.currency}


def orphan_remove(orphan: Orphan, *, actor: Actor, reporter: JobReporter | None = None) -> str:
    """Re-check and delete one orphan; returns the state it ends in (removed, gone or failed)."""
    try:
        orphan_transition(orphan, Orphan.REMOVING, actor=actor, reporter=reporter, message="")
    except IllegalTransition:  # removed or gone meanwhile (another job, a sweep)
        return orphan.state
    handler = finder_for(orphan.kind)
    try:
        reason = handler.still_orphan(orphan)
        if reason is None:
            handler.remove(orphan)
    except Exception as exc:
        orphan_transition(orphan, Orphan.FAILED, actor=actor, reporter=reporter, message=f"{type(exc).__name__}: {exc}")
        audit_record(actor=actor, action="orphan.removal_failed", obj=orphan, details=_facts(orphan),
                     outcome=AuditEvent.FAILURE, error=orphan.error)
        return Orphan.FAILED
    if reason is not None:
        orphan_transition(orphan, Orphan.GONE, actor=actor, reporter=reporter,
                          message=f"not removed: it is no longer an orphan ({reason})")
        return Orphan.GONE
    orphan_transition(orphan, Orphan.REMOVED, actor=actor, reporter=reporter,
                      fields={"removed_at": timezone.now(), "removed_by_id": actor.user_id})
    audit_record(actor=actor, action="orphan.removed", obj=orphan, details=_facts(orphan))
    return Orphan.REMOVED


def orphans_remove_now(orphans: Iterable[Orphan], *, actor: Actor,
                       reporter: JobReporter | None = None) -> dict[str, int]:
    """Remove each in turn (one failure does not stop the others); returns the count per end state."""
    orphans = list(orphans)
    ends: dict[str, int] = {}
    for number, orphan in enumerate(orphans, start=1):
        end = orphan_remove(orphan, actor=actor, reporter=reporter)
        ends[end] = ends.get(end, 0) + 1
        if reporter:
            reporter.log(f"{orphan}: {end}{f' ({orphan.error})' if orphan.error else ''}")
            reporter.progress(min(99, 100 * number // len(orphans)), str(orphan)[:100])
    return ends


def removal_batch(job: Job):
    """The orphans an admin's confirmation gave to ``job`` (recorded in their details)."""
    return Orphan.objects.filter(state__in=(Orphan.REMOVING, Orphan.FOUND, Orphan.FAILED),
                                 details__removal_job=str(job.pk)).order_by("kind", "location", "name")


def run_orphan_removal(job: Job, reporter: JobReporter, actor: Actor) -> None:
    """The body of the removal job; a re-run (worker killed) picks up what is still removing."""
    batch = list(removal_batch(job))
    reporter.log(f"removing {len(batch)} orphan(s), each re-checked first")
    ends = orphans_remove_now(batch, actor=actor, reporter=reporter)
    reporter.log(", ".join(f"{count} {state}" for state, count in sorted(ends.items())) or "nothing to do")
    reporter.progress(100, "done")
