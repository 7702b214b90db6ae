"""When an experiment fires: interval or cron schedules inside an allowed window, in the experiment's time
zone; and the beat tick that starts the runs that are due.

Time zones: cron times are placed in the zone by portal.wall_clock (which says how DST gaps and repeated
hours fire). Windows are wall-clock times too: "10:00–16:00" is 10:00–16:00 local on every day, summer or winter.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.audit.services import audit_record
from portal.wall_clock import cron_next, wall_instant, wall_time

from ..models import Environment
from . import runs
from .models import ChaosExperiment

logger = logging.getLogger(__name__)

# A schedule whose cron never meets its window within this horizon never fires (validation says so).
HORIZON = timedelta(days=366)
_MAX_STEPS = 2000
SCHEDULE_ACTOR = "chaos-schedule"


def _window_bounds(day: date, start: time | None, end: time | None, zone: ZoneInfo) -> tuple[datetime, datetime]:
    opening = wall_instant(datetime.combine(day, start or time(0)), zone)
    if end is None:
        closing = wall_instant(datetime.combine(day + timedelta(days=1), time(0)), zone)
    else:
        closing = wall_instant(datetime.combine(day, end), zone)
    return opening, closing


def window_next_opening(experiment: ChaosExperiment, moment: datetime) -> datetime | None:
    """``moment`` itself when it falls inside the experiment's allowed window, else the window's next
    opening after it (None when the window has no day at all). Days are ISO weekdays in the experiment's
    time zone; the time span is [start, end) on each allowed day (no times: the whole day)."""
    moment = moment.astimezone(UTC)
    days = set(experiment.window_days or [])
    start, end = experiment.window_start, experiment.window_end
    if not days and start is None and end is None:
        return moment
    zone = ZoneInfo(experiment.timezone)
    first = wall_time(moment, zone).date() - timedelta(days=1)  # the day before: a late local time near midnight
    for offset in range(9):
        day = first + timedelta(days=offset)
        if days and day.isoweekday() not in days:
            continue
        opening, closing = _window_bounds(day, start, end, zone)
        if moment < closing and opening < closing:
            return max(moment, opening)
    return None


def next_run_after(experiment: ChaosExperiment, after: datetime) -> datetime | None:
    """The next time ``experiment`` fires after ``after`` (UTC), inside its allowed window, or None for a
    one-off or paused experiment, or a schedule that never meets its window within a year.

    Interval: ``after`` is the last run (or now) and the next is ``interval_seconds`` later, moved to the
    window's next opening when it falls outside. Cron: the first cron time after ``after`` that falls
    inside the window (cron times outside it are skipped, not moved). Pure: reads only the experiment.
    """
    if experiment.paused or experiment.schedule == ChaosExperiment.ONCE:
        return None
    after = after.astimezone(UTC)
    if experiment.schedule == ChaosExperiment.INTERVAL:
        return window_next_opening(experiment, after + timedelta(seconds=experiment.interval_seconds or 0))
    zone = ZoneInfo(experiment.timezone)
    cursor = after
    for _ in range(_MAX_STEPS):
        fire = cron_next(experiment.cron, zone, cursor)
        if fire - after > HORIZON:
            return None
        opening = window_next_opening(experiment, fire)
        if opening is None:
            return None
        if opening == fire:
            return fire
        cursor = opening - timedelta(microseconds=1)  # the first cron time at or after the opening
    return None


def next_run_following(experiment: ChaosExperiment, due_at: datetime, now: datetime) -> datetime | None:
    """The fire time after a run that was due at ``due_at`` and starts at ``now``: an interval counts from
    ``due_at`` (the pace holds whatever the beat's period: a 10 s interval with a 5 s beat fires every
    10 s, not every 15), skipping the times missed while nothing ticked; a cron time is the next after now."""
    if experiment.schedule == ChaosExperiment.INTERVAL and experiment.interval_seconds and due_at <= now:
        step = timedelta(seconds=experiment.interval_seconds)
        return next_run_after(experiment, due_at + step * ((now - due_at) // step))
    return next_run_after(experiment, now)


def _due(now: datetime) -> list[int]:
    # A destroyed environment never runs anything again: its experiments are not even refused.
    return list(ChaosExperiment.objects.filter(paused=False, next_run_at__lte=now)
                .exclude(schedule=ChaosExperiment.ONCE).exclude(environment__status=Environment.DESTROYED)
                .order_by("next_run_at").values_list("pk", flat=True))


def _refusal_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or type(exc).__name__


def _skipped(experiment: ChaosExperiment, actor: Actor, *, due_at: datetime, reason: str, error: str = "") -> None:
    audit_record(actor=actor, action="chaos.run_skipped", obj=experiment, team_slug=experiment.environment.team.slug,
                 outcome=AuditEvent.FAILURE if error else AuditEvent.SUCCESS, error=error,
                 details={"reason": reason, "due_at": due_at, "next_run_at": experiment.next_run_at})


def _fire(pk: int, now: datetime, actor: Actor) -> int | None:
    """Start one due experiment: lock it (skipping it when another tick holds it), move ``next_run_at``
    on, then ask the engine for a run, all in one transaction, so a tick that dies leaves the experiment
    due again and two ticks never both start it. A refusal becomes a ``chaos.run_skipped`` event."""
    with transaction.atomic():
        experiment = (ChaosExperiment.objects.select_for_update(skip_locked=True, of=("self",))
                      .select_related("environment__team")
                      .filter(pk=pk, paused=False, next_run_at__lte=now).first())
        if experiment is None:
            return None  # another tick has it, or it was paused, changed or run meanwhile
        due_at = experiment.next_run_at
        experiment.next_run_at = next_run_following(experiment, due_at, now)
        ChaosExperiment.objects.filter(pk=pk).update(next_run_at=experiment.next_run_at)
        try:
            # A savepoint: a refusal rolls back only the engine's attempt (its own failure event with it,
            # which the skip event below replaces), never the move of next_run_at.
            with transaction.atomic():
                run = runs.chaos_run_start(actor=actor, user=None, experiment=experiment, trigger="schedule")
        except (ValidationError, PermissionDenied) as exc:
            _skipped(experiment, actor, due_at=due_at, reason=_refusal_text(exc))
            return None
        except Exception as exc:  # one broken experiment must not stop the others' schedules
            logger.exception("chaos schedule: starting experiment %s failed", pk)
            _skipped(experiment, actor, due_at=due_at, reason="an unexpected error",
                     error=f"{type(exc).__name__}: {exc}")
            return None
    return run.pk


def chaos_schedule_tick(now: datetime | None = None) -> list[int]:
    """Periodic (beat): start a run of every unpaused experiment whose ``next_run_at`` has come, and
    return the ids of the runs started. Idempotent: a second tick (or a second beat process) finds the
    experiments already moved on; refusals (kill switch, a run already active, not opted in) are audit
    events ``chaos.run_skipped`` with the reason, never exceptions."""
    now = now or timezone.now()
    actor = Actor.system(SCHEDULE_ACTOR)
    started = []
    for pk in _due(now):
        run_id = _fire(pk, now, actor)
        if run_id is not None:
            started.append(run_id)
    return started
