"""When environments sleep and wake: which schedule applies to an environment, what its cron times are
(in its time zone, DST-safe), the share of a week it is awake, and the checks a schedule must pass.

Cron times are computed like the chaos schedules' (``portal.wall_clock.cron_next``: wall-clock
times placed in the zone, a time in the spring-forward gap fires when the clock has jumped past it, a
repeated autumn time fires once). The beat tick that acts on them is ``schedule_tick.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter

from portal.wall_clock import cron_next

from ..models import Environment
from ..policies.selectors import stage_policy_for
from .models import SleepSchedule

SLEEP = "sleep"
WAKE = "wake"
# The largest wall-clock jump at a DST change anywhere, plus a margin (as chaos/schedule.py reasons).
DST_MARGIN = timedelta(hours=3)
# A schedule that sleeps but never wakes by cron wakes on the first request; for the awake share we
# count it asleep this long after each sleep time (a night), since nothing can know when a request comes.
REQUEST_WAKE_ESTIMATE = timedelta(hours=12)
# The "typical week" awake_fraction measures: a week without a DST change in either hemisphere's usual rules.
TYPICAL_WEEK_START = datetime(2026, 1, 12)  # a Monday, wall clock
WEEK = timedelta(days=7)
_MAX_STEPS = 5000
MAX_IDLE_HOURS = 24 * 90


@dataclass(frozen=True)
class ScheduleEvent:
    kind: str  # SLEEP or WAKE
    at: datetime


def zone_of(schedule: SleepSchedule) -> ZoneInfo:
    return ZoneInfo(schedule.timezone or "UTC")


def _instant(wall: datetime, zone: ZoneInfo) -> datetime:
    # fold=0: a gap time moves forward by the gap, a repeated time is its first occurrence (as in chaos).
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def cron_previous(expression: str, zone: ZoneInfo, at: datetime) -> datetime | None:
    """The last instant at or before ``at`` at which the 5-field cron ``expression`` fires in ``zone``
    (None when it never fired within a year). Wall-clock candidates are read backwards until one lies a
    full DST margin before the best found, since the wall→instant map is not monotonic around a gap."""
    at = at.astimezone(UTC)
    candidates = croniter(expression, _wall(at, zone) + DST_MARGIN + timedelta(seconds=1))
    best: datetime | None = None
    for _ in range(_MAX_STEPS):
        wall = candidates.get_prev(datetime)
        if at - _instant(wall, zone) > timedelta(days=366) and best is None:
            return None
        moment = _instant(wall, zone)
        if moment <= at and (best is None or moment > best):
            best = moment
        if best is not None and wall < _wall(best, zone) - DST_MARGIN:
            return best
    return best  # pragma: no cover


def latest_event(schedule: SleepSchedule, *, after: datetime, now: datetime) -> ScheduleEvent | None:
    """The latest sleep or wake time of ``schedule`` in (after, now]: what a tick acts on. Only the latest
    counts, so a tick missed for hours catches up once (a missed sleep then wake is just "wake")."""
    zone = zone_of(schedule)
    found = []
    for kind, expression in ((SLEEP, schedule.sleep_cron), (WAKE, schedule.wake_cron)):
        if expression:
            at = cron_previous(expression, zone, now)
            if at is not None and at > after:
                found.append(ScheduleEvent(kind, at))
    # The same instant for both (a strange schedule): sleeping wins, as the cheaper mistake.
    return max(found, key=lambda e: (e.at, e.kind == SLEEP), default=None)


def next_events(schedule: SleepSchedule | None, *, now: datetime) -> dict[str, datetime | None]:
    """{"sleep": next sleep time, "wake": next wake time} after ``now`` (None when there is none)."""
    result: dict[str, datetime | None] = {SLEEP: None, WAKE: None}
    if schedule is None or not schedule.enabled:
        return result
    zone = zone_of(schedule)
    for kind, expression in ((SLEEP, schedule.sleep_cron), (WAKE, schedule.wake_cron)):
        if expression:
            result[kind] = cron_next(expression, zone, now)
    return result


def _week_events(schedule: SleepSchedule, start: datetime, end: datetime) -> list[ScheduleEvent]:
    zone = zone_of(schedule)
    events = []
    for kind, expression in ((SLEEP, schedule.sleep_cron), (WAKE, schedule.wake_cron)):
        if not expression:
            continue
        cursor = start
        for _ in range(_MAX_STEPS):
            cursor = cron_next(expression, zone, cursor)
            if cursor >= end:
                break
            events.append(ScheduleEvent(kind, cursor))
    return sorted(events, key=lambda e: (e.at, e.kind == SLEEP))


def awake_fraction(schedule: SleepSchedule | None) -> float:
    """The share (0–1) of a typical week an environment with ``schedule`` is awake: 1.0 for no schedule,
    a disabled one, or one without a sleep time. Idle sleep is not counted (nobody knows when people stop).
    Without a wake time it wakes only on request: counted asleep ``REQUEST_WAKE_ESTIMATE`` after each sleep."""
    if schedule is None or not schedule.enabled or not schedule.sleep_cron:
        return 1.0
    zone = zone_of(schedule)
    start, end = _instant(TYPICAL_WEEK_START, zone), _instant(TYPICAL_WEEK_START + WEEK, zone)
    before = latest_event(schedule, after=start - timedelta(days=366), now=start)
    asleep_since = before.at if before is not None and before.kind == SLEEP else None
    asleep = timedelta()
    for event in [*_week_events(schedule, start, end), ScheduleEvent(WAKE, end)]:
        if asleep_since is not None:
            until = event.at if schedule.wake_cron else min(event.at, asleep_since + REQUEST_WAKE_ESTIMATE)
            asleep += max(timedelta(), until - max(asleep_since, start))
        # Counted up to this event: a sleep (again) starts a new asleep span from here, a wake ends it.
        asleep_since = event.at if event.kind == SLEEP else None
    return max(0.0, min(1.0, 1 - asleep / (end - start)))


# --- which schedule applies ---------------------------------------------------------------------------------

def schedule_for(*, environment: Environment | None = None, team: Any = None, stage: str = "") -> SleepSchedule | None:
    """The environment's own schedule, else the most specific default for its (or the given) team and
    stage: team and stage, then team (every stage), then stage (every team). None when nothing applies."""
    if environment is not None:
        own = SleepSchedule.objects.filter(environment=environment).first()
        if own is not None:
            return own
        team, stage = environment.team, environment.stage
    team_id = getattr(team, "pk", team)
    defaults = SleepSchedule.objects.filter(environment__isnull=True)
    candidates = []
    if team_id is not None:
        candidates += [defaults.filter(team_id=team_id, stage=stage), defaults.filter(team_id=team_id, stage="")]
    if stage:
        candidates.append(defaults.filter(team__isnull=True, stage=stage))
    for query in candidates:
        found = query.first()
        if found is not None:
            return found
    return None


def schedule_required(stage: str) -> bool:
    """Whether the stage policy says environments of ``stage`` must keep a sleep schedule enabled."""
    policy = stage_policy_for(stage)
    return policy is not None and policy.sleep_schedule_required


# --- validation ---------------------------------------------------------------------------------------------

def _cron_error(expression: str) -> str | None:
    if len(expression.split()) != 5:
        return "Use five cron fields: minute hour day-of-month month day-of-week, e.g. “0 20 * * 1-5”."
    try:
        croniter(expression)
    except (CroniterError, ValueError, KeyError) as exc:
        return f"“{expression}” is not a cron expression this portal understands ({exc})."
    return None


def schedule_errors(values: dict[str, Any]) -> dict[str, list[str]]:
    """Field → messages for a schedule's values (sleep_cron, wake_cron, timezone, idle_hours, enabled);
    normalises them in place (stripped crons, a float idle_hours)."""
    errors: dict[str, list[str]] = {}
    for name in ("sleep_cron", "wake_cron"):
        values[name] = " ".join(str(values.get(name) or "").split())
        if values[name]:
            message = _cron_error(values[name])
            if message:
                errors[name] = [message]
    zone = str(values.get("timezone") or "UTC").strip()
    values["timezone"] = zone
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = [f"“{zone}” is not a time zone; use a name such as Europe/Berlin or UTC."]
    idle = values.get("idle_hours")
    if idle in ("", None):
        values["idle_hours"] = None
    else:
        try:
            idle = float(idle)
        except (TypeError, ValueError):
            idle = None
        if idle is None or isinstance(values.get("idle_hours"), bool) or not 0 < idle <= MAX_IDLE_HOURS:
            errors["idle_hours"] = [f"Use a number of hours above 0 and at most {MAX_IDLE_HOURS}, or leave it empty."]
        else:
            values["idle_hours"] = idle
    if not isinstance(values.get("enabled", True), bool):
        errors["enabled"] = ["Say true (enabled) or false (disabled)."]
    if not errors and values.get("wake_cron") and not values.get("sleep_cron") and not values.get("idle_hours"):
        errors["sleep_cron"] = ["A wake time needs a sleep time or idle hours: nothing would ever put it to sleep."]
    return errors
