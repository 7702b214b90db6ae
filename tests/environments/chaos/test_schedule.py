"""When experiments fire: interval and cron schedules inside allowed windows, across days, time zones and
DST changes. Pure: fixed datetimes, unsaved experiments, no database."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from environments.chaos.models import ChaosExperiment
from environments.chaos.schedule import next_run_after, next_run_following, window_next_opening
from portal.wall_clock import cron_next

BERLIN = ZoneInfo("Europe/Berlin")
WORKING_HOURS = {"window_days": [1, 2, 3, 4, 5], "window_start": time(10), "window_end": time(16)}


def experiment(**fields) -> ChaosExperiment:
    return ChaosExperiment(**{"name": "e", "fault": ChaosExperiment.POD_KILL, "timezone": "UTC"} | fields)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: ZoneInfo, *args, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone, fold=fold).astimezone(UTC)


def test_one_off_and_paused_experiments_never_fire_by_themselves():
    assert next_run_after(experiment(schedule="once"), utc(2026, 6, 1)) is None
    assert next_run_after(experiment(schedule="interval", interval_seconds=60, paused=True), utc(2026, 6, 1)) is None
    assert next_run_after(experiment(schedule="cron", cron="* * * * *", paused=True), utc(2026, 6, 1)) is None


def test_interval_without_window_is_the_interval_after_the_last_run():
    assert next_run_after(experiment(schedule="interval", interval_seconds=90), utc(2026, 6, 1, 12)) == \
        utc(2026, 6, 1, 12, 1, 30)


def test_interval_inside_the_window_keeps_its_pace_and_outside_waits_for_the_next_opening():
    e = experiment(schedule="interval", interval_seconds=600, timezone="Europe/Berlin", **WORKING_HOURS)
    # Wednesday 2026-06-03 11:00 local (CEST): 10 minutes later is still inside.
    assert next_run_after(e, local(BERLIN, 2026, 6, 3, 11)) == local(BERLIN, 2026, 6, 3, 11, 10)
    # Friday 15:55 + 10 min = 16:05, past the window's end: Monday 10:00, not Saturday.
    assert next_run_after(e, local(BERLIN, 2026, 6, 5, 15, 55)) == local(BERLIN, 2026, 6, 8, 10)
    # The end is exclusive: landing exactly on 16:00 is outside.
    assert next_run_after(e, local(BERLIN, 2026, 6, 3, 15, 50)) == local(BERLIN, 2026, 6, 4, 10)
    # Before the opening on a working day: that day's opening.
    assert next_run_after(e, local(BERLIN, 2026, 6, 3, 6)) == local(BERLIN, 2026, 6, 3, 10)


def test_window_hours_are_wall_clock_hours_in_summer_and_winter():
    e = experiment(schedule="interval", interval_seconds=60, timezone="Europe/Berlin", **WORKING_HOURS)
    assert next_run_after(e, utc(2026, 7, 4, 12)) == utc(2026, 7, 6, 8)  # Monday 10:00 CEST
    assert next_run_after(e, utc(2026, 1, 3, 12)) == utc(2026, 1, 5, 9)  # Monday 10:00 CET
    # The weekend of the spring-forward change: Sunday is UTC+1, Monday UTC+2.
    assert next_run_after(e, utc(2026, 3, 28, 12)) == utc(2026, 3, 30, 8)


def test_window_day_is_the_local_day_not_the_utc_day():
    monday_mornings = experiment(schedule="interval", interval_seconds=60, timezone="Pacific/Auckland",
                                 window_days=[1], window_start=time(9), window_end=time(10))
    auckland = ZoneInfo("Pacific/Auckland")
    # Sunday 20:00 UTC is already Monday 08:00 in Auckland: the window opens an hour later.
    assert next_run_after(monday_mornings, utc(2026, 6, 7, 20)) == local(auckland, 2026, 6, 8, 9)
    friday_nights = experiment(timezone="America/Los_Angeles", window_days=[5], window_start=time(22),
                               window_end=time(23, 59))
    # Saturday 05:30 UTC is Friday 22:30 in Los Angeles: inside.
    assert window_next_opening(friday_nights, utc(2026, 6, 6, 5, 30)) == utc(2026, 6, 6, 5, 30)
    assert window_next_opening(friday_nights, utc(2026, 6, 6, 7)) == \
        local(ZoneInfo("America/Los_Angeles"), 2026, 6, 12, 22)


def test_days_without_times_and_times_without_days():
    weekends = experiment(timezone="UTC", window_days=[6, 7])
    assert window_next_opening(weekends, utc(2026, 6, 3, 12)) == utc(2026, 6, 6)  # Wednesday → Saturday 00:00
    assert window_next_opening(weekends, utc(2026, 6, 7, 23)) == utc(2026, 6, 7, 23)
    afternoons = experiment(timezone="UTC", window_start=time(13), window_end=time(14))
    assert window_next_opening(afternoons, utc(2026, 6, 3, 14)) == utc(2026, 6, 4, 13)


def test_cron_fires_in_the_experiments_time_zone():
    e = experiment(schedule="cron", cron="30 9 * * *", timezone="America/New_York")
    assert next_run_after(e, utc(2026, 7, 1, 12)) == utc(2026, 7, 1, 13, 30)  # EDT, UTC-4
    assert next_run_after(e, utc(2026, 1, 15, 15)) == utc(2026, 1, 16, 14, 30)  # EST, UTC-5


def test_cron_times_outside_the_window_are_skipped_not_moved():
    e = experiment(schedule="cron", cron="0 9-17/4 * * *", timezone="Europe/Berlin", **WORKING_HOURS)
    # Fires at 09, 13, 17 local; only 13:00 is inside 10–16, and only Monday to Friday.
    assert next_run_after(e, local(BERLIN, 2026, 6, 3, 8)) == local(BERLIN, 2026, 6, 3, 13)
    assert next_run_after(e, local(BERLIN, 2026, 6, 5, 13)) == local(BERLIN, 2026, 6, 8, 13)


def test_cron_that_never_meets_its_window_never_fires():
    e = experiment(schedule="cron", cron="0 3 * * *", timezone="Europe/Berlin", **WORKING_HOURS)
    assert next_run_after(e, utc(2026, 6, 1)) is None


def test_cron_across_the_spring_forward_gap():
    e = experiment(schedule="cron", cron="30 2 * * *", timezone="Europe/Berlin")
    # 2026-03-29 02:30 does not exist in Berlin: it fires when the clock has jumped (03:30 CEST).
    first = next_run_after(e, utc(2026, 3, 28, 12))
    assert first == local(BERLIN, 2026, 3, 29, 3, 30) == utc(2026, 3, 29, 1, 30)
    # The next day is back to 02:30 local (croniter's own zone handling says 01:30 here).
    assert next_run_after(e, first) == local(BERLIN, 2026, 3, 30, 2, 30) == utc(2026, 3, 30, 0, 30)


def test_cron_across_the_fall_back_repeat_fires_once_per_wall_clock_time():
    e = experiment(schedule="cron", cron="30 2 * * *", timezone="Europe/Berlin")
    first = next_run_after(e, utc(2026, 10, 24, 12))
    assert first == utc(2026, 10, 25, 0, 30)  # 02:30 CEST, the first of the two 02:30s
    assert next_run_after(e, first) == utc(2026, 10, 26, 1, 30)  # 02:30 CET the next day, not 03:30
    half_hours = experiment(schedule="cron", cron="*/30 * * * *", timezone="Europe/Berlin")
    fired, moment = [], utc(2026, 10, 24, 23, 45)
    for _ in range(4):
        moment = next_run_after(half_hours, moment)
        fired.append(moment)
    # 02:00 and 02:30 CEST, then (the repeated 02:00 and 02:30 skipped) 03:00 and 03:30 CET.
    assert fired == [utc(2026, 10, 25, 0), utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 2), utc(2026, 10, 25, 2, 30)]
    assert fired == sorted(set(fired))


def test_interval_across_a_dst_change_is_elapsed_time():
    e = experiment(schedule="interval", interval_seconds=3600, timezone="Europe/Berlin")
    assert next_run_after(e, local(BERLIN, 2026, 3, 29, 1, 30)) == local(BERLIN, 2026, 3, 29, 3, 30)


def test_window_opening_inside_a_dst_gap_opens_when_the_clock_has_jumped():
    e = experiment(schedule="interval", interval_seconds=60, timezone="Europe/Berlin",
                   window_start=time(2, 30), window_end=time(4))
    assert next_run_after(e, utc(2026, 3, 29, 0)) == utc(2026, 3, 29, 1, 30)  # 03:30 CEST


@pytest.mark.parametrize("expression", ["*/7 * * * *", "15 10 * * 1-5", "0 0 1 * *", "5 4 * * sun", "0 12 29 2 *"])
def test_cron_in_utc_agrees_with_croniter(expression):
    moment = utc(2026, 2, 27, 23, 59)
    iterator = croniter(expression, moment)
    for _ in range(5):
        expected = iterator.get_next(datetime)
        moment = cron_next(expression, ZoneInfo("UTC"), moment)
        assert moment == expected


def test_every_result_is_strictly_after_and_inside_the_window_for_a_year_of_starts():
    e = experiment(schedule="cron", cron="*/20 * * * *", timezone="America/Sao_Paulo", window_days=[2, 4],
                   window_start=time(9, 10), window_end=time(11))
    zone = ZoneInfo("America/Sao_Paulo")
    start = utc(2026, 1, 1)
    for hours in range(0, 24 * 366, 37):
        after = start + timedelta(hours=hours)
        fire = next_run_after(e, after)
        wall = fire.astimezone(zone)
        assert fire > after
        assert wall.isoweekday() in (2, 4) and time(9, 10) <= wall.time() < time(11) and wall.minute % 20 == 0
        assert fire - after < timedelta(days=7)


def test_after_a_run_an_interval_keeps_its_pace_from_the_due_time_and_skips_what_was_missed():
    e = experiment(schedule="interval", interval_seconds=60)
    due = utc(2026, 6, 1, 10)
    # The beat came 4 s late: the next is still a minute after the due time, not after the beat.
    assert next_run_following(e, due, due + timedelta(seconds=4)) == utc(2026, 6, 1, 10, 1)
    # Nothing ticked for five and a half minutes: the missed times are skipped, not caught up.
    assert next_run_following(e, due, due + timedelta(minutes=5, seconds=30)) == utc(2026, 6, 1, 10, 6)
    assert next_run_following(e, due, due + timedelta(minutes=5)) == utc(2026, 6, 1, 10, 6)
    windowed = experiment(schedule="interval", interval_seconds=3600, window_start=time(9), window_end=time(11))
    assert next_run_following(windowed, utc(2026, 6, 1, 10), utc(2026, 6, 1, 10, 0, 2)) == utc(2026, 6, 2, 9)
    cron = experiment(schedule="cron", cron="*/15 * * * *")
    assert next_run_following(cron, due, due + timedelta(minutes=20)) == utc(2026, 6, 1, 10, 30)


def test_cron_in_a_window_is_the_first_matching_minute_found_by_brute_force():
    # America/New_York changes to summer time on 2026-03-08: starts run across it.
    e = experiment(schedule="cron", cron="*/7 8-18 * * *", timezone="America/New_York", window_days=[1, 2, 3, 4, 5],
                   window_start=time(10), window_end=time(16, 30))
    zone = ZoneInfo("America/New_York")

    def fires(moment: datetime) -> bool:
        wall = moment.astimezone(zone)
        return (wall.minute % 7 == 0 and 8 <= wall.hour <= 18 and wall.isoweekday() <= 5
                and time(10) <= wall.time() < time(16, 30))

    for hours in range(0, 24 * 20, 23):
        after = utc(2026, 3, 1, 0, 0, 30) + timedelta(hours=hours)
        expected = after.replace(second=0) + timedelta(minutes=1)
        while not fires(expected):
            expected += timedelta(minutes=1)
        assert next_run_after(e, after) == expected, after
