"""Taking a temporary fault back: the undo ledger's one door.

Every undo is written before its fault is injected, so whoever comes first — the run's worker when
the duration ends, a kill switch, the periodic task after a worker died — can apply it. Applying one
is idempotent: the row is locked and its ``done_at`` set in the same transaction as the action, so
exactly one caller does it and a caller that comes second (or waits on the lock) sees it done.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from clusters.kube.chaos_faults import network_policy_delete, node_restore, statefulset_scale
from clusters.kube.client import api_client
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.audit.services import audit_record

from ..services import environment_rollback
from .models import ChaosUndo

logger = logging.getLogger(__name__)


def undo_perform(undo: ChaosUndo, *, actor: Actor) -> str:
    """Do what ``undo`` says, whether or not it was done before (each action is idempotent on the
    cluster: scaling to N, deleting a missing policy, restoring a Ready node). Returns a line for the
    timeline. Raises the cluster's or the service's error."""
    spec, environment = undo.spec, undo.run.environment
    if undo.action == ChaosUndo.ROLLBACK:
        rollout = environment_rollback(actor=actor, user=None, environment=environment, number=spec["to_revision"])
        return f"rolled back to r{spec['to_revision']} (revision r{rollout.revision.number})"
    with api_client(environment.cluster.kubeconfig) as api:
        if undo.action == ChaosUndo.SCALE:
            statefulset_scale(api, spec["namespace"], spec["name"], spec["replicas"])
            return f"StatefulSet {spec['name']} scaled back to {spec['replicas']}"
        if undo.action == ChaosUndo.DELETE_NETWORK_POLICY:
            network_policy_delete(api, spec["namespace"], spec["name"])
            return f"NetworkPolicy {spec['name']} deleted"
        if undo.action == ChaosUndo.RESTORE_NODE:
            node_restore(api, spec["node"])
            return f"node {spec['node']} restored"
    raise ValueError(f"unknown undo action {undo.action!r}")


def undo_apply(undo: ChaosUndo, *, actor: Actor, now: datetime | None = None) -> bool:
    """Apply ``undo`` unless it is done; True when this call did it. Idempotent and audited
    (``chaos.fault_undone``). A failure is recorded on the row (attempts, error) and audited, and the
    periodic task retries it; it does not raise."""
    try:
        with transaction.atomic():
            # Lock first: a second caller waits here, then finds done_at set and leaves it alone.
            locked = ChaosUndo.objects.select_for_update().select_related(
                "run__environment__cluster", "run__environment__team").filter(pk=undo.pk, done_at__isnull=True).first()
            if locked is None:
                return False
            message = undo_perform(locked, actor=actor)
            done_at = now or timezone.now()
            ChaosUndo.objects.filter(pk=undo.pk).update(done_at=done_at, attempts=F("attempts") + 1, error="")
    except Exception as exc:
        logger.warning("chaos undo %s of run %s failed", undo.pk, undo.run_id, exc_info=True)
        error = f"{type(exc).__name__}: {exc}"
        ChaosUndo.objects.filter(pk=undo.pk).update(attempts=F("attempts") + 1, error=error[:2000])
        audit_record(actor=actor, action="chaos.fault_undone", obj=undo.run, outcome=AuditEvent.FAILURE, error=error,
                     team_slug=undo.run.environment.team.slug, details={"undo": undo.pk, "action": undo.action})
        return False
    undo.done_at, undo.error = done_at, ""
    audit_record(actor=actor, action="chaos.fault_undone", obj=undo.run, team_slug=undo.run.environment.team.slug,
                 details={"undo": undo.pk, "action": undo.action, "spec": undo.spec, "message": message,
                          "due_at": undo.due_at, "late_seconds": round((done_at - undo.due_at).total_seconds(), 3)})
    return True


def undos_apply_pending(run_id: int, *, actor: Actor) -> list[ChaosUndo]:
    """Apply every undo of run ``run_id`` not done yet, due or not (kill switch, crash, error).
    Returns those still not done afterwards (failures, retried by the periodic task)."""
    for undo in ChaosUndo.objects.filter(run_id=run_id, done_at__isnull=True).select_related("run__environment__team"):
        undo_apply(undo, actor=actor)
    return list(ChaosUndo.objects.filter(run_id=run_id, done_at__isnull=True))
