"""The beat tick: due experiments start a run through the engine and move on; refusals are audit events,
never exceptions; a paused, one-off or not-yet-due experiment is left alone; two ticks never start one
experiment twice, and a tick skips an experiment another holds."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from environments.chaos import runs
from environments.chaos.models import ChaosExperiment, ChaosKillSwitch, ChaosRun, ChaosSettings
from environments.chaos.schedule import chaos_schedule_tick
from portal.audit.models import AuditEvent
from portal.celery import app as celery_app
from tests.environments.chaos.schedule_support import make_environment, make_experiment, make_run
from tests.racing import race


@pytest.fixture
def opted_in(users, team):
    environment = make_environment("tick-qa", team=team, owner=users["developer"])
    ChaosSettings.objects.create(environment=environment, enabled=True)
    return environment


def due(environment, **fields):
    values = {"schedule": "interval", "interval_seconds": 60, "next_run_at": timezone.now() - timedelta(seconds=1)}
    return make_experiment(environment, **(values | fields))


def skipped():
    return list(AuditEvent.objects.filter(action="chaos.run_skipped").order_by("pk"))


def test_a_due_experiment_starts_a_scheduled_run_and_moves_on(opted_in):
    experiment = due(opted_in)
    due_at, now = experiment.next_run_at, timezone.now()
    [run_id] = chaos_schedule_tick(now)
    run = ChaosRun.objects.get(pk=run_id)
    assert (run.experiment, run.trigger, run.status, run.started_by) == (experiment, "schedule", "queued", None)
    assert run.job is not None and run.job.kind == "chaos"
    experiment.refresh_from_db()
    assert experiment.next_run_at == due_at + timedelta(seconds=60)  # the pace counts from the due time
    started = AuditEvent.objects.get(action="chaos.run_started")
    assert started.actor_name == "system:chaos-schedule" and started.details["trigger"] == "schedule"
    # The same tick again (a redelivered beat task): nothing is due any more.
    assert chaos_schedule_tick(now) == []
    assert ChaosRun.objects.count() == 1 and not skipped()


def test_paused_one_off_and_future_experiments_are_left_alone(opted_in):
    paused = due(opted_in, paused=True)
    once = due(opted_in, schedule="once")
    later = due(opted_in, next_run_at=timezone.now() + timedelta(minutes=5))
    assert chaos_schedule_tick() == []
    for experiment in (paused, once, later):
        before = experiment.next_run_at
        experiment.refresh_from_db()
        assert experiment.next_run_at == before
    assert not ChaosRun.objects.exists() and not skipped()


@pytest.mark.parametrize(("arrange", "reason"), [
    (lambda env: ChaosSettings.objects.filter(environment=env).update(enabled=False),
     "Chaos experiments are off for tick-qa; opt the environment in first."),
    (lambda env: ChaosSettings.objects.filter(environment=env).update(halted=True),
     "The kill switch of tick-qa is engaged"),
    (lambda env: ChaosKillSwitch.objects.create(pk=1, engaged=True), "The global chaos kill switch is engaged"),
    (lambda env: make_run(make_experiment(env, name="other"), seconds=None, status=ChaosRun.RUNNING),
     "An experiment is already running in tick-qa (other)"),
    (lambda env: env.__class__.objects.filter(pk=env.pk).update(status="deploying"), "tick-qa is deploying"),
])
def test_a_refusal_is_an_audit_event_with_the_reason_and_the_schedule_still_moves_on(opted_in, arrange, reason):
    experiment = due(opted_in)
    arrange(opted_in)
    due_at, now = experiment.next_run_at, timezone.now()
    assert chaos_schedule_tick(now) == []
    [event] = skipped()
    assert reason in event.details["reason"]
    assert event.object_id == str(experiment.pk) and event.team_slug == "payments" and event.outcome == "success"
    assert event.actor_name == "system:chaos-schedule"
    experiment.refresh_from_db()
    assert experiment.next_run_at == due_at + timedelta(seconds=60)  # no retry on every tick
    assert not ChaosRun.objects.filter(experiment=experiment).exists()


def test_experiments_of_a_destroyed_environment_are_not_even_refused(opted_in):
    experiment = due(opted_in)
    opted_in.__class__.objects.filter(pk=opted_in.pk).update(status="destroyed")
    assert chaos_schedule_tick() == []
    assert not skipped() and not ChaosRun.objects.exists()
    before = experiment.next_run_at
    experiment.refresh_from_db()
    assert experiment.next_run_at == before


def test_one_refused_experiment_does_not_stop_another_environments(users, team, opted_in):
    quiet = make_environment("tick-off", team=team, owner=users["developer"])
    refused, started = due(quiet), due(opted_in)
    [run_id] = chaos_schedule_tick()
    assert ChaosRun.objects.get(pk=run_id).experiment == started
    assert [e.object_id for e in skipped()] == [str(refused.pk)]


def test_an_unexpected_error_is_recorded_and_the_other_experiments_still_start(users, team, opted_in, monkeypatch):
    second = make_environment("tick-two", team=team, owner=users["developer"])
    ChaosSettings.objects.create(environment=second, enabled=True)
    broken, fine = due(opted_in), due(second, next_run_at=timezone.now())
    real_start = runs.chaos_run_start

    def start(**kwargs):  # fault injection: the engine fails on the first experiment only
        if kwargs["experiment"].pk == broken.pk:
            raise RuntimeError("database hiccup")
        return real_start(**kwargs)

    monkeypatch.setattr(runs, "chaos_run_start", start)
    [run_id] = chaos_schedule_tick()
    assert ChaosRun.objects.get(pk=run_id).experiment == fine
    [event] = skipped()
    assert (event.object_id, event.outcome, event.error) == (str(broken.pk), "failure", "RuntimeError: database hiccup")
    broken.refresh_from_db()
    assert broken.next_run_at > timezone.now()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
class TestConcurrentTicks:
    @pytest.fixture(autouse=True)
    def queued_not_run(self, monkeypatch):
        """Jobs go to the in-memory broker instead of running in the tick."""
        monkeypatch.setitem(celery_app.conf, "task_always_eager", False)

    def test_two_ticks_at_once_start_one_run(self, opted_in):
        experiment = due(opted_in)
        now = timezone.now()
        results = race(*[lambda: chaos_schedule_tick(now)] * 4)
        assert sorted(len(r) for r in results) == [0, 0, 0, 1]
        assert ChaosRun.objects.filter(experiment=experiment).count() == 1
        assert not skipped()  # the losers skipped the locked row or found it moved on: nothing to report

    def test_a_tick_skips_an_experiment_another_transaction_holds(self, opted_in):
        experiment = due(opted_in)
        held, release = threading.Event(), threading.Event()

        def hold():
            try:
                with transaction.atomic():
                    ChaosExperiment.objects.select_for_update().get(pk=experiment.pk)
                    held.set()
                    release.wait(30)
            finally:
                connection.close()

        holder = threading.Thread(target=hold)
        holder.start()
        try:
            assert held.wait(30)
            assert chaos_schedule_tick() == []  # not blocked: skip_locked
            assert not ChaosRun.objects.exists()
        finally:
            release.set()
            holder.join()
        assert len(chaos_schedule_tick()) == 1
