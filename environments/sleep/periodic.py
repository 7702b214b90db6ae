"""The beat task of sleep schedules (registered through ``environments/periodic.py``, scheduled every
``SLIPWAY_SLEEP_TICK_SECONDS``): cron sleep/wake times (``schedule_tick.py``), then idle sleep
(``idle_sleep.py``)."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from .idle_sleep import idle_sleep
from .schedule_tick import schedules_tick


def sleep_tick(now: datetime | None = None) -> dict:
    """One tick: {"slept": ids, "woke": ids, "skipped": ids (retried next tick), "idle": ids slept for
    being idle}. Idempotent: run twice at the same ``now``, the second acts on nothing."""
    now = now or timezone.now()
    result = schedules_tick(now)
    result["idle"] = idle_sleep(now)
    return result


@shared_task(name="environments.sleep_tick")
def sleep_tick_task() -> dict:
    """Periodic (beat): sleep and wake environments by their schedules, and sleep idle ones."""
    return sleep_tick()
