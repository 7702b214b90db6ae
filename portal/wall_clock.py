"""Wall-clock times in a time zone, and the next time a cron expression fires there (chaos schedules,
sleep schedules).

croniter's own handling of aware datetimes is wrong across DST changes (croniter 6.0: from 2026-03-29 in
Europe/Berlin, "30 2 * * *" fires next at 01:30 local), so cron expressions are iterated on naive
wall-clock times and each result is placed in the zone here, with the usual cron conventions: a
wall-clock time that does not exist (the spring-forward gap) fires when the clock has jumped past it
(02:30 → 03:30), and one that occurs twice (the autumn fall-back) fires once, at its first occurrence.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

# The largest jump of a wall clock at a DST change anywhere (Antarctica/Troll: 2 h), plus a margin:
# a cron time this far after a candidate (in wall-clock terms) can never fire before it.
DST_MARGIN = timedelta(hours=3)
_CRON_CANDIDATES = 20000


def wall_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a naive wall-clock time in ``zone``: a time in a spring-forward gap is shifted
    forward by the gap (zoneinfo's fold=0), a repeated one is its first occurrence."""
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def wall_time(instant: datetime, zone: ZoneInfo) -> datetime:
    """The naive wall-clock time in ``zone`` of an aware ``instant``."""
    return instant.astimezone(zone).replace(tzinfo=None)


def cron_next(expression: str, zone: ZoneInfo, after: datetime) -> datetime:
    """The first instant strictly after ``after`` at which the 5-field cron ``expression`` fires in ``zone``.

    Wall-clock candidates are mapped to instants by :func:`wall_instant`; that map is not monotonic around a
    DST gap, so candidates are read until one lies a full DST margin past the best found.
    """
    after = after.astimezone(UTC)
    candidates = croniter(expression, wall_time(after, zone) - DST_MARGIN)
    best: datetime | None = None
    for _ in range(_CRON_CANDIDATES):
        wall = candidates.get_next(datetime)
        moment = wall_instant(wall, zone)
        if moment > after and (best is None or moment < best):
            best = moment
        if best is not None and wall > wall_time(best, zone) + DST_MARGIN:
            return best
    raise ValueError(f"cron expression {expression!r} produced no time after {after}")  # pragma: no cover
