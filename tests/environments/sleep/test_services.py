"""The sleep and wake use cases: who may, when they are refused (with which sentence), one at a time."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from environments.chaos.models import ChaosRun
from environments.lifecycle import environment_transition
from environments.models import Environment, Rollout, SleepState
from environments.services import environment_update_versions
from environments.sleep.selectors import sleep_refusal, wake_in_progress
from environments.sleep.services import SleepRefused, environment_sleep, environment_wake
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.celery import app as celery_app
from portal.jobs.models import Job
from tests.environments.chaos.conftest import experiment, ready_environment
from tests.factories import TeamFactory, UserFactory
from tests.racing import race

SYSTEM = Actor.system("test")


def _ready(users, team, cluster, name):
    """A ready environment (database only) whose first rollout job has ended."""
    env = ready_environment(users["qa"], team, cluster, name)
    Job.objects.filter(pk=env.rollouts.get().job_id).update(state=Job.SUCCEEDED)
    return env


def _sleep(env, user=None, **kwargs):
    return environment_sleep(actor=Actor.for_user(user) if user else SYSTEM, user=user, environment=env, **kwargs)


def _wake(env, user=None, **kwargs):
    return environment_wake(actor=Actor.for_user(user) if user else SYSTEM, user=user, environment=env, **kwargs)


def _asleep(env):
    for status in (Environment.SLEEPING, Environment.ASLEEP):
        environment_transition(env, status, actor=SYSTEM)
    return env


def test_sleep_queues_one_sleep_job_of_the_current_revision(users, team, offline_cluster):
    env = _ready(users, team, offline_cluster, "s-queue")
    rollout = _sleep(env, users["qa"], reason="manual")
    env.refresh_from_db()
    assert env.status == Environment.SLEEPING
    assert rollout.job.kind == "sleep" and rollout.job.state == "queued" and rollout.revision == env.current_revision
    assert rollout.job.title == f"Sleep {env.name}"
    assert SleepState.objects.get(environment=env).reason == "manual"
    event = AuditEvent.objects.get(action="environment.sleep", object_id=str(env.pk))
    assert event.outcome == "success" and event.details["job"] == str(rollout.job.pk)


@pytest.mark.parametrize(("status", "sentence"), [
    (Environment.PENDING, "A rollout is in progress; try again when it ends."),
    (Environment.SLEEPING, "already going to sleep"),
    (Environment.ASLEEP, "This environment is already asleep."),
    (Environment.WAKING, "waking up; try again once it is ready"),
])
def test_sleep_is_refused_with_a_sentence_when_it_is_not_ready(users, team, offline_cluster, status, sentence):
    env = _ready(users, team, offline_cluster, "s-refused")
    if status == Environment.PENDING:
        environment_update_versions(actor=SYSTEM, user=users["qa"], environment=env, versions={"web": "1.6.0-rc1"})
    elif status == Environment.WAKING:
        environment_transition(_asleep(env), Environment.WAKING, actor=SYSTEM)
    elif status == Environment.ASLEEP:
        _asleep(env)
    else:
        environment_transition(env, status, actor=SYSTEM)
    with pytest.raises(SleepRefused, match=sentence):
        _sleep(env, users["qa"])
    assert not Rollout.objects.filter(environment=env, job__kind="sleep").exists()
    refused = AuditEvent.objects.get(action="environment.sleep", object_id=str(env.pk))
    assert refused.outcome == "failure" and sentence in refused.error


def test_sleep_is_refused_while_a_rollout_job_is_queued_or_a_chaos_run_is_active(users, team, offline_cluster):
    env = ready_environment(users["qa"], team, offline_cluster, "s-busy")
    # The first rollout's job is still queued (the test ran no worker), though the status says ready.
    assert sleep_refusal(env) == "A rollout is in progress; try again when it ends."
    Job.objects.filter(pk=env.rollouts.get().job_id).update(state=Job.SUCCEEDED)
    assert sleep_refusal(env) is None
    run = ChaosRun.objects.create(experiment=experiment(env), environment=env, fault="pod-kill", status="running")
    with pytest.raises(SleepRefused, match="A chaos experiment is running on this environment"):
        _sleep(env, users["qa"])
    ChaosRun.objects.filter(pk=run.pk).update(status="recovered")
    assert _sleep(env, users["qa"]).job.kind == "sleep"


def test_only_people_who_may_change_it_and_the_system_may_sleep_or_wake(users, team, offline_cluster):
    env = _ready(users, team, offline_cluster, "s-who")
    stranger = UserFactory(username="sleep-stranger", roles=["Developer"], teams=[TeamFactory(slug="others")])
    with pytest.raises(PermissionDenied, match="your own teams only"):
        _sleep(env, stranger)
    with pytest.raises(PermissionDenied):
        _wake(_asleep(env), stranger)
    assert _wake(env).job.kind == "wake"  # the system (a request to its hostname)
    with pytest.raises(Exception, match="Use one of"):
        _sleep(env, users["qa"], reason="bedtime")


def test_wake_is_none_when_awake_and_many_wakes_make_one_job(users, team, offline_cluster):
    env = _ready(users, team, offline_cluster, "s-wake")
    assert _wake(env, users["qa"]) is None
    _asleep(env)
    first = _wake(env, reason="request")
    assert _wake(env, reason="request") is None and _wake(env, users["qa"]) is None
    assert wake_in_progress(env) == first
    env.refresh_from_db()
    assert env.status == Environment.WAKING
    state = SleepState.objects.get(environment=env)
    assert state.wake_requested_at is not None and state.reason == "request"
    assert Rollout.objects.filter(environment=env, job__kind="wake").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_sleeps_at_once_make_one_job(monkeypatch):
    from django.core.management import call_command

    from clusters.models import Cluster
    from tests.environments.chaos.conftest import UNREACHABLE

    call_command("seed_demo_blueprint", verbosity=0)
    cluster = Cluster.objects.create(name="sleep-race", kind="local", kubeconfig=UNREACHABLE, is_default=True)
    team = TeamFactory(slug="sleep-race")
    qa = UserFactory(username="sleep-racer", roles=["QA"], teams=[team])
    env = _ready({"qa": qa}, team, cluster, "s-race")
    # Queue only (the in-memory broker), so no job runs and moves the status while the loser waits.
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    outcomes = race(lambda: _sleep(Environment.objects.get(pk=env.pk), qa),
                    lambda: _sleep(Environment.objects.get(pk=env.pk), qa))
    won = [o for o in outcomes if isinstance(o, Rollout)]
    refused = [o for o in outcomes if isinstance(o, SleepRefused)]
    assert len(won) == 1 and len(refused) == 1, outcomes
    assert "already going to sleep" in refused[0].messages[0]
    assert Rollout.objects.filter(environment=env, job__kind="sleep").count() == 1


@pytest.mark.parametrize(("status", "sentence"), [(Environment.SLEEPING, "is going to sleep; change it once"),
                                                  (Environment.WAKING, "is waking up; change it once")])
def test_a_new_revision_is_refused_while_it_goes_to_sleep_or_wakes(users, team, offline_cluster, status, sentence):
    env = _ready(users, team, offline_cluster, "s-change")
    if status == Environment.WAKING:
        _asleep(env)
    environment_transition(env, status, actor=SYSTEM)
    with pytest.raises(ValidationError, match=sentence):
        environment_update_versions(actor=SYSTEM, user=users["qa"], environment=env, versions={"web": "1.6.0-rc1"})
    env.refresh_from_db()
    assert env.status == status and env.revisions.count() == 1
    refused = AuditEvent.objects.get(action="environment.update_versions", object_id=str(env.pk))
    assert refused.outcome == "failure" and sentence in refused.error


def test_a_new_revision_of_an_asleep_environment_is_rolled_out_and_wakes_it(users, team, offline_cluster):
    env = _asleep(_ready(users, team, offline_cluster, "s-change-asleep"))
    rollout = environment_update_versions(actor=SYSTEM, user=users["qa"], environment=env, versions={"web": "1.6.0-rc1"})
    env.refresh_from_db()
    assert env.status == Environment.PENDING and rollout.job.kind == "rollout" and env.current_revision.number == 2
