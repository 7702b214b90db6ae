"""The schedules' tick: put environments to sleep at their sleep time and wake them at their wake time.

Edge-triggered. Each schedule acts on the latest of its cron times in (checked_until, now] and then moves
``checked_until`` on, so a "Wake now" at night is not undone until the next sleep time, and a tick missed
for hours catches up once, with the latest event only. An environment that cannot act now (a rollout or
a chaos experiment in progress) is skipped, logged (not audited: a retry a minute would flood the trail)
and retried at the next tick: the watermark then stays just before the event, and environments that
already followed it are recognised by their sleep state (slept, woke or asked to wake since the event).

Two ticks never act on one schedule together: each schedule is locked (skip_locked) for its turn.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from portal.audit.actor import Actor

from ..models import Environment
from .models import SleepSchedule, SleepState
from .schedule import SLEEP, ScheduleEvent, latest_event
from .selectors import sleep_refusal
from .services import environment_sleep, environment_wake

logger = logging.getLogger(__name__)
SCHEDULE_ACTOR = "sleep-schedule"
# Statuses in which an event cannot act yet but may soon (a rollout, a sleep or a wake job running):
# the event is retried at the next tick.
SLEEP_LATER = frozenset({Environment.PENDING, Environment.DEPLOYING, Environment.WAKING})
WAKE_LATER = frozenset({Environment.SLEEPING})
LIVE = (Environment.PENDING, Environment.DEPLOYING, Environment.READY, Environment.FAILED, Environment.SLEEPING,
        Environment.ASLEEP, Environment.WAKING)


@dataclass
class TickResult:
    slept: list[int] = field(default_factory=list)
    woke: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[int]]:
        return {"slept": self.slept, "woke": self.woke, "skipped": self.skipped}


def _default_key(schedule: SleepSchedule) -> tuple[int | None, str]:
    return (schedule.team_id, schedule.stage)


def _governing_default(environment: Environment, defaults: dict[tuple[int | None, str], SleepSchedule]
                       ) -> SleepSchedule | None:
    # The same order as schedule.schedule_for, in memory: team and stage, team, stage.
    for key in ((environment.team_id, environment.stage), (environment.team_id, ""), (None, environment.stage)):
        if key in defaults:
            return defaults[key]
    return None


def environments_governed(schedule: SleepSchedule) -> list[Environment]:
    """The live environments ``schedule`` governs: its own environment, or those a default applies to
    (no schedule of their own, and no more specific default)."""
    live = Environment.objects.filter(status__in=LIVE).select_related("team", "sleep_state")
    if schedule.environment_id:
        return list(live.filter(pk=schedule.environment_id))
    scoped = live.filter(sleep_schedule__isnull=True)
    if schedule.team_id:
        scoped = scoped.filter(team_id=schedule.team_id)
    if schedule.stage:
        scoped = scoped.filter(stage=schedule.stage)
    defaults = {_default_key(d): d for d in SleepSchedule.objects.filter(environment__isnull=True)}
    return [e for e in scoped if getattr(_governing_default(e, defaults), "pk", None) == schedule.pk]


def _followed(environment: Environment, event: ScheduleEvent) -> bool:
    """Whether the environment slept, woke or was asked to wake since the event (by it, or by a person)."""
    state: SleepState | None = getattr(environment, "sleep_state", None)
    if state is None:
        return False
    return any(moment is not None and moment >= event.at
               for moment in (state.slept_at, state.woke_at, state.wake_requested_at))


def _refusal(exc: Exception) -> str:
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


def _act(environment: Environment, event: ScheduleEvent, actor: Actor, result: TickResult) -> bool:
    """Apply the event to one environment; False when it must be retried at the next tick."""
    if _followed(environment, event):
        return True
    status = environment.status
    if event.kind == SLEEP:
        use_case, due, later, done = environment_sleep, Environment.READY, SLEEP_LATER, result.slept
    else:
        use_case, due, later, done = environment_wake, Environment.ASLEEP, WAKE_LATER, result.woke
    if status in later:
        result.skipped.append(environment.pk)
        logger.info("sleep schedule: %s %s is %s; retried at the next tick", event.kind, environment.name, status)
        return False
    if status != due:
        return True  # already in the wanted state, or failed: nothing to do for this event
    # Read-only first: a refusal each minute while a chaos run or a rollout goes on is a log line, not an
    # audit event per tick (the service would audit every refused attempt).
    refusal = sleep_refusal(environment) if event.kind == SLEEP else None
    try:
        if refusal:
            raise ValidationError(refusal)
        with transaction.atomic():  # a refusal rolls back only this environment's attempt
            use_case(actor=actor, user=None, environment=environment, reason="schedule")
    except (ValidationError, PermissionDenied) as exc:
        result.skipped.append(environment.pk)
        logger.info("sleep schedule: %s of %s skipped, retried at the next tick: %s", event.kind, environment.name,
                    _refusal(exc))
        return False
    done.append(environment.pk)
    return True


def _tick_one(pk: int, now: datetime, actor: Actor, result: TickResult) -> None:
    with transaction.atomic():
        schedule = (SleepSchedule.objects.select_for_update(skip_locked=True, of=("self",))
                    .filter(pk=pk, enabled=True).first())
        if schedule is None:
            return  # another tick has it, or it was disabled or deleted meanwhile
        after = schedule.checked_until or now  # a new schedule starts from now: no acting on the past
        event = latest_event(schedule, after=after, now=now) if after < now else None
        watermark = now
        if event is not None:
            all_done = True
            for environment in environments_governed(schedule):
                all_done &= _act(environment, event, actor, result)
            if not all_done:
                watermark = event.at - timedelta(microseconds=1)  # the event stays due for the skipped ones
        SleepSchedule.objects.filter(pk=pk).update(checked_until=watermark)


def schedules_tick(now: datetime, *, actor: Actor | None = None) -> dict[str, Any]:
    """Act on every enabled schedule's latest cron time since its watermark. Idempotent: a second tick
    at the same ``now`` finds every watermark moved on (or every environment already following)."""
    actor = actor or Actor.system(SCHEDULE_ACTOR)
    result = TickResult()
    for pk in SleepSchedule.objects.filter(enabled=True).order_by("pk").values_list("pk", flat=True):
        try:
            _tick_one(pk, now, actor, result)
        except Exception:  # one broken schedule must not stop the others
            logger.exception("sleep schedule %s: the tick failed", pk)
    return result.as_dict()
