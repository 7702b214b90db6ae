"""The periodic (beat) tasks of chaos experiments, registered through ``environments/periodic.py``:
the safety net that takes every temporary fault back even when the run's worker died, and the
schedule's tick (its body is ``schedule.chaos_schedule_tick``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from portal.audit.actor import Actor
from portal.status_machine import IllegalTransition

from .lifecycle import chaos_run_transition
from .models import ChaosRun, ChaosUndo
from .schedule import chaos_schedule_tick
from .undo import undo_apply, undos_apply_pending


def chaos_undo_due(now: datetime | None = None) -> dict[str, list[int]]:
    """Apply every undo that is due and not done; then every RUNNING run whose heartbeat is older than
    ``SLIPWAY_CHAOS_HEARTBEAT_SECONDS`` (its worker died) has all its undos applied now and becomes
    INTERRUPTED. Idempotent; returns {"undone": undo ids, "interrupted": run ids}."""
    now = now or timezone.now()
    actor = Actor.system("chaos-undo")
    undone = [undo.pk for undo in ChaosUndo.objects.filter(done_at__isnull=True, due_at__lte=now)
              .select_related("run__environment__team") if undo_apply(undo, actor=actor)]
    stale = now - timedelta(seconds=settings.SLIPWAY_CHAOS_HEARTBEAT_SECONDS)
    interrupted = []
    for run in ChaosRun.objects.filter(status=ChaosRun.RUNNING, heartbeat_at__lt=stale):
        # INTERRUPTED first (as a kill switch does): a worker that was only slow stops at its next beat.
        try:
            chaos_run_transition(run, ChaosRun.INTERRUPTED, actor=actor, fields={"finished_at": now},
                                 message="the worker stopped sending heartbeats; its faults were undone")
        except IllegalTransition:
            continue  # it ended meanwhile
        interrupted.append(run.pk)
        undos_apply_pending(run.pk, actor=actor)
    return {"undone": undone, "interrupted": interrupted}


@shared_task(name="environments.chaos_undo_due")
def chaos_undo_due_task() -> dict[str, list[int]]:
    """Periodic (beat): finish due undos and interrupt runs whose worker died."""
    return chaos_undo_due()


@shared_task(name="environments.chaos_schedule_tick")
def chaos_schedule_tick_task() -> list[int]:
    """Periodic (beat): start a run of every experiment whose schedule has come."""
    return chaos_schedule_tick()
