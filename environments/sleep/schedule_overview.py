"""Reads for the sleep schedule pages, panel and API: the defaults list (filtered) and one environment's
schedule overview (its own or the inherited default, its sleep state, the next times, the awake share)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from ..models import Environment
from .models import SleepSchedule, SleepState
from .schedule import SLEEP, WAKE, awake_fraction, next_events, schedule_for


def sleep_defaults(filters: dict[str, str] | None = None) -> QuerySet[SleepSchedule]:
    """Default schedules (no environment), filtered by ``team`` (slug, or "none" for every team) and
    ``stage`` (or "none" for every stage); team defaults first."""
    filters = filters or {}
    defaults = SleepSchedule.objects.filter(environment__isnull=True).select_related("team", "updated_by")
    team, stage = filters.get("team", ""), filters.get("stage", "")
    if team == "none":
        defaults = defaults.filter(team__isnull=True)
    elif team:
        defaults = defaults.filter(team__slug=team)
    if stage:
        defaults = defaults.filter(stage="" if stage == "none" else stage)
    return defaults.order_by("team__name", "stage", "pk")


def scope_label(schedule: SleepSchedule) -> str:
    team = schedule.team.name if schedule.team_id else "every team"
    stage = schedule.stage or "every stage"
    return f"{team} / {stage}"


@dataclass(frozen=True)
class ScheduleOverview:
    environment: Environment
    schedule: SleepSchedule | None
    own: bool
    inherited_from: str  # "Payments / qa" for a default, "" for its own or none
    state: SleepState | None
    next_sleep: datetime | None
    next_wake: datetime | None
    awake_percent: float


def schedule_overview(environment: Environment, *, now: datetime | None = None) -> ScheduleOverview:
    schedule = schedule_for(environment=environment)
    own = schedule is not None and schedule.environment_id == environment.pk
    upcoming: dict[str, Any] = next_events(schedule, now=now or timezone.now())
    return ScheduleOverview(
        environment=environment, schedule=schedule, own=own,
        inherited_from="" if own or schedule is None else scope_label(schedule),
        state=SleepState.objects.filter(environment=environment).first(),
        next_sleep=upcoming[SLEEP], next_wake=upcoming[WAKE], awake_percent=round(awake_fraction(schedule) * 100, 1))
