"""Idle sleep: an awake (ready) environment with no activity for its schedule's ``idle_hours`` goes to
sleep (reason "idle"). Run by the sleep tick; time comes in as ``now`` so tests control it.

"Activity" is the latest of: the last recorded activity (``activity.py``: pages, API, logs, rollouts,
requests through the waking page), the last wake, and the environment's creation — so a new or just
woken environment gets its full idle period.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from portal.audit.actor import Actor

from ..models import Environment
from .models import SleepSchedule
from .selectors import sleep_refusal
from .services import environment_sleep

logger = logging.getLogger(__name__)
IDLE_ACTOR = "sleep-idle"


def _defaults() -> dict[tuple[int | None, str], SleepSchedule]:
    return {(d.team_id, d.stage): d for d in SleepSchedule.objects.filter(environment__isnull=True)}


def _idle_hours(environment: Environment, defaults: dict[tuple[int | None, str], SleepSchedule]) -> float | None:
    own = getattr(environment, "sleep_schedule", None)
    schedule = own or next((defaults[key] for key in ((environment.team_id, environment.stage),
                                                      (environment.team_id, ""), (None, environment.stage))
                            if key in defaults), None)
    if schedule is None or not schedule.enabled or not schedule.idle_hours:
        return None
    return schedule.idle_hours


def last_active_at(environment: Environment) -> datetime:
    """The latest sign of life: recorded activity, the last wake, or the creation."""
    state = getattr(environment, "sleep_state", None)
    moments = [environment.created_at]
    if state is not None:
        moments += [m for m in (state.last_activity_at, state.woke_at, state.wake_requested_at) if m is not None]
    return max(moments)


def idle_environments(now: datetime) -> list[Environment]:
    """Ready environments idle for longer than their schedule's ``idle_hours``."""
    defaults = _defaults()
    ready = (Environment.objects.filter(status=Environment.READY)
             .select_related("team", "sleep_state", "sleep_schedule"))
    idle = []
    for environment in ready:
        hours = _idle_hours(environment, defaults)
        if hours is not None and now - last_active_at(environment) >= timedelta(hours=hours):
            idle.append(environment)
    return idle


def idle_sleep(now: datetime, *, actor: Actor | None = None) -> list[int]:
    """Put every idle environment to sleep; the ids put to sleep. A refusal (a rollout or a chaos
    experiment in progress) is logged and tried again at the next tick."""
    actor = actor or Actor.system(IDLE_ACTOR)
    slept = []
    for environment in idle_environments(now):
        refusal = sleep_refusal(environment)  # read-only first: no failure event each minute while it is busy
        if refusal:
            logger.info("idle sleep of %s skipped, retried at the next tick: %s", environment.name, refusal)
            continue
        try:
            with transaction.atomic():
                environment_sleep(actor=actor, user=None, environment=environment, reason="idle")
        except (ValidationError, PermissionDenied) as exc:
            logger.info("idle sleep of %s refused: %s", environment.name, exc)
            continue
        slept.append(environment.pk)
    return slept
