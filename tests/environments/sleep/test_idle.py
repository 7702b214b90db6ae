"""Idle sleep: a ready environment with no activity for its schedule's idle_hours goes to sleep (reason
"idle") at the next tick; activity, a recent wake or a young environment keep it awake; no idle_hours, a
disabled schedule or a busy environment (retried next tick) do not sleep. Time comes in as ``now``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from environments.models import Environment
from environments.sleep.activity import activity_record
from environments.sleep.models import SleepSchedule, SleepState
from environments.sleep.periodic import sleep_tick
from portal.audit.models import AuditEvent
from portal.jobs.models import Job

pytestmark = pytest.mark.django_db


def status(environment) -> str:
    environment.refresh_from_db()
    return environment.status


def test_idle_for_its_hours_goes_to_sleep_with_reason_idle(make_ready):
    environment = make_ready("idle-a")
    SleepSchedule.objects.create(environment=environment, idle_hours=2)
    start = timezone.now()
    activity_record(environment, "page", now=start)
    assert sleep_tick(now=start + timedelta(hours=1, minutes=59))["idle"] == []
    assert status(environment) == "ready"
    assert sleep_tick(now=start + timedelta(hours=2, minutes=1))["idle"] == [environment.pk]
    assert status(environment) == "sleeping"
    assert SleepState.objects.get(environment=environment).reason == "idle"
    event = AuditEvent.objects.get(action="environment.sleep", object_id=str(environment.pk))
    assert event.details["reason"] == "idle" and event.actor_name == "system:sleep-idle"
    # Going to sleep already: the next tick does not ask again.
    assert sleep_tick(now=start + timedelta(hours=2, minutes=2))["idle"] == []


def test_activity_moves_the_deadline(make_ready):
    environment = make_ready("idle-b")
    SleepSchedule.objects.create(environment=environment, idle_hours=1)
    start = timezone.now()
    activity_record(environment, "page", now=start)
    activity_record(environment, "api", now=start + timedelta(minutes=50))
    assert sleep_tick(now=start + timedelta(hours=1, minutes=10))["idle"] == []
    assert sleep_tick(now=start + timedelta(hours=1, minutes=51))["idle"] == [environment.pk]


def test_a_new_or_just_woken_environment_gets_its_full_idle_period(make_ready):
    young, woken = make_ready("idle-young"), make_ready("idle-woken")
    SleepSchedule.objects.create(stage="qa", idle_hours=3)
    now = timezone.now()
    SleepState.objects.create(environment=woken, last_activity_at=now - timedelta(days=2),
                              woke_at=now - timedelta(hours=1))
    assert sleep_tick(now=now + timedelta(hours=1))["idle"] == []  # young: created now; woken: 2 h ago
    assert sorted(sleep_tick(now=now + timedelta(hours=3, minutes=1))["idle"]) == sorted([young.pk, woken.pk])


def test_no_idle_hours_a_disabled_schedule_or_another_status_never_sleeps_for_idleness(make_ready):
    without, disabled, failed = make_ready("idle-none"), make_ready("idle-off"), make_ready("idle-failed")
    SleepSchedule.objects.create(environment=without, sleep_cron="0 20 * * *")
    SleepSchedule.objects.create(environment=disabled, idle_hours=1, enabled=False)
    SleepSchedule.objects.create(environment=failed, idle_hours=1)
    Environment.objects.filter(pk=failed.pk).update(status=Environment.FAILED)
    assert sleep_tick(now=timezone.now() + timedelta(days=3))["idle"] == []


def test_a_busy_environment_is_retried_at_the_next_tick(make_ready):
    environment = make_ready("idle-busy")
    SleepSchedule.objects.create(environment=environment, idle_hours=1)
    Job.objects.filter(pk=environment.rollouts.get().job_id).update(state=Job.RUNNING)  # a rollout in progress
    later = timezone.now() + timedelta(hours=2)
    assert sleep_tick(now=later)["idle"] == [] and status(environment) == "ready"
    assert not AuditEvent.objects.filter(object_id=str(environment.pk), action="environment.sleep").exists()
    Job.objects.filter(pk=environment.rollouts.get().job_id).update(state=Job.SUCCEEDED)
    assert sleep_tick(now=later + timedelta(minutes=1))["idle"] == [environment.pk]
