"""Sleep schedules in time (tick tests run in 2027: later than the real clock that the sleep
services stamp, so their stamps never look newer than the test's cron times): cron times in a zone (Europe/Berlin, DST), the tick's edge triggering (acts
once per cron time, catches up once after missed ticks, never undoes a "Wake now"), skips and retries,
which schedule applies, the awake share of a week, validation. Time comes in as ``now``."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from environments.lifecycle import environment_transition
from environments.models import Environment, Rollout
from environments.sleep.models import SleepSchedule, SleepState
from environments.sleep.periodic import sleep_tick
from environments.sleep.schedule import (
    SLEEP,
    WAKE,
    awake_fraction,
    cron_previous,
    latest_event,
    next_events,
    schedule_errors,
    schedule_for,
)
from environments.sleep.services import environment_wake
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.celery import app as celery_app
from portal.jobs.models import Job
from tests.environments.sleep.wake_support import job_done
from tests.racing import race

BERLIN = ZoneInfo("Europe/Berlin")
NIGHTS = {"sleep_cron": "0 20 * * 1-5", "wake_cron": "0 8 * * 1-5", "timezone": "Europe/Berlin"}


def local(*args, fold=0) -> datetime:
    return datetime(*args, tzinfo=BERLIN, fold=fold).astimezone(UTC)


def status(environment) -> str:
    environment.refresh_from_db()
    return environment.status


# --- pure: cron times ---------------------------------------------------------------------------------------

def test_the_latest_cron_time_is_local_wall_clock_in_winter_and_summer():
    assert cron_previous("0 20 * * 1-5", BERLIN, local(2026, 1, 14, 21)) == datetime(2026, 1, 14, 19, tzinfo=UTC)
    assert cron_previous("0 20 * * 1-5", BERLIN, local(2026, 7, 15, 21)) == datetime(2026, 7, 15, 18, tzinfo=UTC)
    # Exactly at the time counts; a Saturday goes back to Friday.
    assert cron_previous("0 20 * * 1-5", BERLIN, local(2026, 7, 15, 20)) == local(2026, 7, 15, 20)
    assert cron_previous("0 20 * * 1-5", BERLIN, local(2026, 7, 18, 12)) == local(2026, 7, 17, 20)


def test_dst_gap_and_repeated_hour():
    # 2026-03-29 02:30 does not exist in Berlin: it fires when the clock has jumped, 03:30 CEST (01:30 UTC).
    assert cron_previous("30 2 * * *", BERLIN, local(2026, 3, 29, 4)) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # 2026-10-25 02:30 happens twice: once, at the first occurrence (00:30 UTC).
    assert cron_previous("30 2 * * *", BERLIN, local(2026, 10, 25, 4)) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    schedule = SleepSchedule(**NIGHTS)
    # The Monday after spring-forward: wake at 08:00 CEST = 06:00 UTC (was 07:00 UTC the week before).
    assert next_events(schedule, now=local(2026, 3, 29, 12))[WAKE] == datetime(2026, 3, 30, 6, tzinfo=UTC)
    assert next_events(schedule, now=local(2026, 3, 22, 12))[WAKE] == datetime(2026, 3, 23, 7, tzinfo=UTC)


def test_latest_event_in_a_window_is_only_the_last_one():
    schedule = SleepSchedule(**NIGHTS)
    # Friday 19:00 to Monday 09:00: the sleep on Friday and the wake on Monday: only the wake counts.
    event = latest_event(schedule, after=local(2026, 6, 5, 19), now=local(2026, 6, 8, 9))
    assert (event.kind, event.at) == (WAKE, local(2026, 6, 8, 8))
    event = latest_event(schedule, after=local(2026, 6, 5, 19), now=local(2026, 6, 6, 9))
    assert (event.kind, event.at) == (SLEEP, local(2026, 6, 5, 20))
    assert latest_event(schedule, after=local(2026, 6, 5, 20), now=local(2026, 6, 5, 23)) is None


def test_awake_fraction_of_a_typical_week():
    assert awake_fraction(None) == 1.0
    assert awake_fraction(SleepSchedule(**NIGHTS, enabled=False)) == 1.0
    assert awake_fraction(SleepSchedule(wake_cron="0 8 * * *", idle_hours=2)) == 1.0
    # Nights on working days (12 h awake × 5) plus the whole weekend asleep (Fri 20:00 → Mon 08:00).
    weekends = SleepSchedule(**NIGHTS)
    assert awake_fraction(weekends) == pytest.approx(60 / 168)
    nights_only = SleepSchedule(sleep_cron="0 20 * * *", wake_cron="0 8 * * *", timezone="America/New_York")
    assert awake_fraction(nights_only) == pytest.approx(0.5)
    # No wake time: asleep 12 h after each sleep (woken by a request the next morning, an estimate).
    assert awake_fraction(SleepSchedule(sleep_cron="0 20 * * *")) == pytest.approx(0.5)


@pytest.mark.parametrize(("values", "field", "words"), [
    ({"sleep_cron": "0 20 * *"}, "sleep_cron", "five cron fields"),
    ({"sleep_cron": "0 25 * * *"}, "sleep_cron", "not a cron expression"),
    ({"sleep_cron": "0 20 * * *", "timezone": "Mars/Olympus"}, "timezone", "not a time zone"),
    ({"sleep_cron": "0 20 * * *", "idle_hours": 0}, "idle_hours", "above 0"),
    ({"sleep_cron": "0 20 * * *", "idle_hours": "-3"}, "idle_hours", "above 0"),
    ({"sleep_cron": "0 20 * * *", "idle_hours": "many"}, "idle_hours", "above 0"),
    ({"wake_cron": "0 8 * * *"}, "sleep_cron", "needs a sleep time"),
])
def test_validation_names_the_field_in_words(values, field, words):
    errors = schedule_errors(dict(values))
    assert field in errors and words in errors[field][0]


def test_valid_values_are_normalised():
    values = {"sleep_cron": " 0  20 * * 1-5 ", "wake_cron": "", "timezone": "Europe/Berlin", "idle_hours": "2.5"}
    assert schedule_errors(values) == {}
    assert values["sleep_cron"] == "0 20 * * 1-5" and values["idle_hours"] == 2.5


# --- which schedule applies ---------------------------------------------------------------------------------

def test_own_schedule_then_the_most_specific_default(make_ready, team):
    environment = make_ready("wk-which")
    assert schedule_for(environment=environment) is None
    by_stage = SleepSchedule.objects.create(stage="qa", **NIGHTS)
    assert schedule_for(environment=environment) == by_stage
    by_team = SleepSchedule.objects.create(team=team, **NIGHTS)
    assert schedule_for(environment=environment) == by_team
    both = SleepSchedule.objects.create(team=team, stage="qa", **NIGHTS)
    assert schedule_for(environment=environment) == both
    assert schedule_for(team=team, stage="dev") == by_team
    own = SleepSchedule.objects.create(environment=environment, **NIGHTS)
    assert schedule_for(environment=environment) == own


# --- the tick ----------------------------------------------------------------------------------------------
# The sleep and wake jobs are queued, not run (no worker): ``job_done`` plays their end with the test's times.

def test_sleeps_at_20_berlin_and_wakes_at_08_once_each(make_ready):
    environment = make_ready("wk-nights")
    SleepSchedule.objects.create(environment=environment, checked_until=local(2027, 6, 3, 12), **NIGHTS)
    assert sleep_tick(now=local(2027, 6, 3, 19, 59))["slept"] == []
    assert status(environment) == "ready"
    result = sleep_tick(now=local(2027, 6, 3, 20, 0, 30))
    assert result["slept"] == [environment.pk] and status(environment) == "sleeping"
    assert SleepState.objects.get(environment=environment).reason == "schedule"
    job_done(environment, Environment.ASLEEP, slept_at=local(2027, 6, 3, 20, 1))
    assert sleep_tick(now=local(2027, 6, 3, 20, 1, 30)) == {"slept": [], "woke": [], "skipped": [], "idle": []}
    assert sleep_tick(now=local(2027, 6, 4, 8, 0, 10))["woke"] == [environment.pk]
    assert status(environment) == "waking"
    assert sleep_tick(now=local(2027, 6, 4, 8, 1, 10))["woke"] == []
    events = AuditEvent.objects.filter(object_id=str(environment.pk), action__in=("environment.sleep",
                                                                                  "environment.wake"))
    assert [(e.action, e.details["reason"], e.actor_name) for e in events.order_by("pk")] == [
        ("environment.sleep", "schedule", "system:sleep-schedule"),
        ("environment.wake", "schedule", "system:sleep-schedule")]


def test_wake_now_at_night_is_not_undone_until_the_next_sleep_time(make_ready, users):
    environment = make_ready("wk-wakenow")
    SleepSchedule.objects.create(environment=environment, checked_until=local(2027, 6, 3, 12), **NIGHTS)
    sleep_tick(now=local(2027, 6, 3, 20, 1))
    job_done(environment, Environment.ASLEEP, slept_at=local(2027, 6, 3, 20, 2))
    environment_wake(actor=Actor.for_user(users["qa"]), user=users["qa"], environment=environment)
    job_done(environment, Environment.READY, wake_requested_at=local(2027, 6, 3, 23), woke_at=local(2027, 6, 3, 23, 1))
    for minute in range(2, 30):  # the night goes on, tick after tick
        sleep_tick(now=local(2027, 6, 3, 23, minute))
    assert status(environment) == "ready"
    assert sleep_tick(now=local(2027, 6, 4, 20, 0, 5))["slept"] == [environment.pk]


def test_missed_ticks_catch_up_once_with_the_latest_event(make_ready):
    first, second = make_ready("wk-missed-a"), make_ready("wk-missed-b")
    for environment in (first, second):
        SleepSchedule.objects.create(environment=environment, checked_until=local(2027, 6, 4, 19), **NIGHTS)
    # Nothing ticked from Friday 19:00 until Saturday 10:00: the Friday sleep, once.
    assert sorted(sleep_tick(now=local(2027, 6, 5, 10))["slept"]) == sorted([first.pk, second.pk])
    for environment in (first, second):
        job_done(environment, Environment.ASLEEP, slept_at=local(2027, 6, 5, 10, 1))
    assert sleep_tick(now=local(2027, 6, 5, 10, 2))["slept"] == []
    # Nothing ticked again until Monday 09:00: the Monday wake only (no sleep on the way).
    before = AuditEvent.objects.filter(action="environment.sleep").count()
    assert sorted(sleep_tick(now=local(2027, 6, 7, 9))["woke"]) == sorted([first.pk, second.pk])
    assert AuditEvent.objects.filter(action="environment.sleep").count() == before


def test_a_new_schedule_does_not_act_on_times_before_it(make_ready):
    environment = make_ready("wk-new")
    SleepSchedule.objects.create(environment=environment, **NIGHTS)  # no watermark yet
    assert sleep_tick(now=local(2027, 6, 3, 23))["slept"] == []
    assert status(environment) == "ready"
    assert sleep_tick(now=local(2027, 6, 4, 20, 0, 1))["slept"] == [environment.pk]


def test_skipped_while_busy_and_retried_at_the_next_tick(make_ready, caplog):
    deploying, rolling_out, free = make_ready("wk-busy"), make_ready("wk-queued"), make_ready("wk-free")
    default = SleepSchedule.objects.create(stage="qa", checked_until=local(2027, 6, 3, 12), **NIGHTS)
    environment_transition(deploying, Environment.DEPLOYING, actor=Actor.system("test"))
    # Ready, but a job is still queued for it: the sleep service refuses with its sentence.
    Job.objects.filter(pk=rolling_out.rollouts.get().job_id).update(state=Job.QUEUED)
    result = sleep_tick(now=local(2027, 6, 3, 20, 0, 30))
    assert result["slept"] == [free.pk] and sorted(result["skipped"]) == sorted([deploying.pk, rolling_out.pk])
    assert f"sleep of {rolling_out.name} skipped, retried at the next tick: A rollout is in progress" in caplog.text
    # Logged, not audited: no failure event per refused minute.
    assert not AuditEvent.objects.filter(object_id=str(rolling_out.pk), action="environment.sleep").exists()
    default.refresh_from_db()
    assert default.checked_until < local(2027, 6, 3, 20)  # the event stays due for the skipped ones
    environment_transition(deploying, Environment.READY, actor=Actor.system("test"))
    Job.objects.filter(pk=rolling_out.rollouts.get().job_id).update(state=Job.SUCCEEDED)
    # The free one went to sleep and was woken by hand meanwhile: the retry must not put it back to sleep.
    job_done(free, Environment.ASLEEP, slept_at=local(2027, 6, 3, 20, 0, 40))
    environment_wake(actor=Actor.system("test"), user=None, environment=free)
    job_done(free, Environment.READY, wake_requested_at=local(2027, 6, 3, 20, 1), woke_at=local(2027, 6, 3, 20, 1))
    result = sleep_tick(now=local(2027, 6, 3, 20, 1, 30))
    assert sorted(result["slept"]) == sorted([deploying.pk, rolling_out.pk]) and status(free) == "ready"
    default.refresh_from_db()
    assert default.checked_until == local(2027, 6, 3, 20, 1, 30)


def test_defaults_govern_only_environments_without_a_more_specific_schedule(make_ready, team):
    inherits, own_schedule = make_ready("wk-inherit"), make_ready("wk-own")
    other_stage = make_ready("wk-dev", stage="dev")
    SleepSchedule.objects.create(team=team, checked_until=local(2027, 6, 3, 12), **NIGHTS)
    SleepSchedule.objects.create(team=team, stage="dev", checked_until=local(2027, 6, 3, 12), sleep_cron="0 22 * * *",
                                 timezone="Europe/Berlin")
    SleepSchedule.objects.create(environment=own_schedule, checked_until=local(2027, 6, 3, 12), enabled=False,
                                 **NIGHTS)
    assert sleep_tick(now=local(2027, 6, 3, 20, 0, 30))["slept"] == [inherits.pk]
    assert status(own_schedule) == "ready" and status(other_stage) == "ready"
    assert sleep_tick(now=local(2027, 6, 3, 22, 0, 30))["slept"] == [other_stage.pk]


def test_dst_night_sleeps_and_wakes_at_local_times(make_ready):
    environment = make_ready("wk-dst")
    SleepSchedule.objects.create(environment=environment, checked_until=local(2027, 10, 28, 12),
                                 sleep_cron="0 20 * * *", wake_cron="30 2 * * *", timezone="Europe/Berlin")
    sleep_tick(now=local(2027, 10, 30, 20, 0, 1))
    job_done(environment, Environment.ASLEEP, slept_at=local(2027, 10, 30, 20, 1))
    # 02:30 happens twice on 2027-10-31: the wake fires at the first (00:30 UTC) and not again at the second.
    assert sleep_tick(now=datetime(2027, 10, 31, 0, 30, 5, tzinfo=UTC))["woke"] == [environment.pk]
    job_done(environment, Environment.READY, woke_at=datetime(2027, 10, 31, 0, 31, tzinfo=UTC))
    assert sleep_tick(now=datetime(2027, 10, 31, 1, 30, 5, tzinfo=UTC)) == {"slept": [], "woke": [], "skipped": [],
                                                                           "idle": []}
    assert status(environment) == "ready"


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_four_ticks_at_once_put_it_to_sleep_once(make_ready, monkeypatch):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)  # queued in the in-memory broker, not run
    environment = make_ready("wk-race")
    SleepSchedule.objects.create(environment=environment, checked_until=local(2027, 6, 3, 12), **NIGHTS)
    results = race(*[lambda: sleep_tick(now=local(2027, 6, 3, 20, 0, 30))] * 4)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(len(r["slept"]) for r in results) == 1
    assert Rollout.objects.filter(environment=environment, job__kind="sleep").count() == 1
    assert status(environment) == "sleeping"
