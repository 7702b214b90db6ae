"""Nothing waits for ever for a job that was never queued: with the broker unreachable, every use case that
moves something into a waiting status (pending, destroying, sleeping, waking, queued, applying, undoing,
removing) answers QueueUnavailable and moves it out again, with the reason, through its status table.

The broker is a real Redis client on a closed port, with no publish retry (production retries for about
ten seconds first: tests/reliability/test_redis_restart.py). ``job_create`` sends after the commit, so the
callbacks run as they would in a request; ``test_environment_create_...`` lets the real commit run them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from clusters.models import Cluster, TerraformRun
from clusters.terraform_runs import cluster_create, terraform_run_approve
from devstack.process import free_port
from environments.chaos.lifecycle import ACTIVE as CHAOS_ACTIVE
from environments.chaos.models import ChaosRun
from environments.chaos.runs import chaos_run_start
from environments.lifecycle import environment_transition
from environments.models import Blueprint, Environment, SleepState
from environments.orphans.models import Orphan
from environments.orphans.services import orphans_remove_start
from environments.services import environment_create, environment_destroy
from environments.sleep.services import environment_sleep, environment_wake
from migrations_tool.models import DataCopy, DataStore
from migrations_tool.services import data_copy_start, data_copy_undo
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.celery import app as celery_app
from portal.jobs.models import Job
from portal.outages import QUEUE_MESSAGE, QueueUnavailable
from tests.environments.chaos.conftest import UNREACHABLE, VERSIONS, experiment, ready_environment
from tests.factories import JobFactory

pytestmark = pytest.mark.reliability
SYSTEM = Actor.system("test")


@pytest.fixture
def unreachable_queue(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tasks are sent (not run eagerly) to a Redis broker on a port nothing listens on, without retrying."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    monkeypatch.setitem(celery_app.conf, "broker_url", f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setitem(celery_app.conf, "task_publish_retry_policy", {"max_retries": 0})
    # Celery keeps one connection pool per app: a fresh one is made for the closed port, then closed.
    monkeypatch.setattr(celery_app, "_pool", None)
    monkeypatch.setattr(celery_app.amqp, "_producer_pool", None)
    yield
    celery_app.pool.force_close_all()


@pytest.fixture
def world(users: dict[str, Any], team: Any) -> dict[str, Any]:
    call_command("seed_demo_blueprint", verbosity=0)
    cluster = Cluster.objects.create(name="unq-offline", kind="local", kubeconfig=UNREACHABLE, is_default=True)
    return {"users": users, "team": team, "cluster": cluster}


def _ready(world: dict[str, Any], name: str) -> Environment:
    """A ready environment in the database only (its first rollout's job never sent, and marked done)."""
    environment = ready_environment(world["users"]["qa"], world["team"], world["cluster"], name)
    Job.objects.filter(pk=environment.rollouts.get().job_id).update(state=Job.SUCCEEDED)
    return environment


def _as(world: dict[str, Any], key: str) -> dict[str, Any]:
    return {"actor": Actor.for_user(world["users"][key]), "user": world["users"][key]}


# Each case: set up (nothing sent yet), then the use case to run while the queue is unreachable, and what
# the object looks like afterwards: (its status, its message), expected to be out of its waiting status.
Case = Callable[[dict[str, Any]], tuple[Callable[[], Any], Callable[[], tuple[str, str]], tuple[str, str]]]


def environment_rollout(world: dict[str, Any]):
    def act() -> None:
        environment_create(**_as(world, "qa"), cluster=world["cluster"], blueprint=Blueprint.objects.get(name="shop"),
                           name="unq-create", stage="qa", team=world["team"], versions=dict(VERSIONS))

    def seen() -> tuple[str, str]:
        environment = Environment.objects.get(name="unq-create")
        return environment.status, environment.status_message

    return act, seen, (Environment.FAILED, QUEUE_MESSAGE)


def environment_destroyed(world: dict[str, Any]):
    environment = _ready(world, "unq-destroy")

    def seen() -> tuple[str, str]:
        environment.refresh_from_db()
        return environment.status, environment.status_message

    return (lambda: environment_destroy(**_as(world, "qa"), environment=environment, confirm_name=environment.name),
            seen, (Environment.FAILED, QUEUE_MESSAGE))


def sleep_asked(world: dict[str, Any]):
    environment = _ready(world, "unq-sleep")

    def seen() -> tuple[str, str]:
        environment.refresh_from_db()
        assert SleepState.objects.get(environment=environment).reason == ""  # the request is forgotten
        return environment.status, environment.status_message

    return (lambda: environment_sleep(**_as(world, "qa"), environment=environment, reason="manual"),
            seen, (Environment.READY, QUEUE_MESSAGE))


def wake_asked(world: dict[str, Any]):
    environment = _ready(world, "unq-wake")
    for status in (Environment.SLEEPING, Environment.ASLEEP):
        environment_transition(environment, status, actor=SYSTEM)

    def seen() -> tuple[str, str]:
        environment.refresh_from_db()
        # Not "waking for N seconds" on its hostname's holding page: no wake is under way.
        assert SleepState.objects.get(environment=environment).wake_requested_at is None
        return environment.status, environment.status_message

    return (lambda: environment_wake(**_as(world, "qa"), environment=environment),
            seen, (Environment.ASLEEP, QUEUE_MESSAGE))


def chaos_run(world: dict[str, Any]):
    exp = experiment(_ready(world, "unq-chaos"))

    def seen() -> tuple[str, str]:
        run = ChaosRun.objects.get(experiment=exp)
        assert run.finished_at is not None
        return run.status, run.status_message

    return lambda: chaos_run_start(**_as(world, "qa"), experiment=exp), seen, (ChaosRun.FAILED, QUEUE_MESSAGE)


def _copy_pair(world: dict[str, Any]) -> tuple[Environment, Environment]:
    pair = []
    for name in ("unq-copy-from", "unq-copy-to"):
        environment = _ready(world, name)
        DataStore.objects.create(environment=environment, kind="mysql", name="db", host="127.0.0.1", port=1,
                                 user="u", password="p", database=name.replace("-", "_"))
        pair.append(environment)
    return pair[0], pair[1]


def data_copy(world: dict[str, Any]):
    source, target = _copy_pair(world)

    def seen() -> tuple[str, str]:
        copy = DataCopy.objects.get(target=target)
        assert copy.finished_at is not None
        return copy.state, copy.error

    return (lambda: data_copy_start(**_as(world, "qa"), source=source, target=target, stores=["mysql"]),
            seen, (DataCopy.FAILED, QUEUE_MESSAGE))


def data_copy_undone(world: dict[str, Any]):
    source, target = _copy_pair(world)
    copy = DataCopy.objects.create(source=source, target=target, team=target.team, stores=["mysql"],
                                   job=JobFactory(state=Job.SUCCEEDED), state=DataCopy.VERIFIED,
                                   snapshots={"mysql": {"key": "snap"}}, undo_until=timezone.now() + timedelta(hours=1))

    def seen() -> tuple[str, str]:
        copy.refresh_from_db()
        # Back where it was, its own record kept; the undo job says why nothing was undone.
        return copy.state, copy.undo_job.error

    return lambda: data_copy_undo(**_as(world, "qa"), copy=copy), seen, (DataCopy.VERIFIED, QUEUE_MESSAGE)


def terraform_plan(world: dict[str, Any]):
    def seen() -> tuple[str, str]:
        cluster = Cluster.objects.get(name="unq-tf")
        run = cluster.terraform_runs.get()
        # A cluster Terraform never created fails with its run.
        assert (cluster.status, cluster.status_message) == (Cluster.FAILED, QUEUE_MESSAGE)
        return run.state, run.message

    return (lambda: cluster_create(**_as(world, "admin"), name="unq-tf", kind=Cluster.LOCAL),
            seen, (TerraformRun.FAILED, QUEUE_MESSAGE))


def terraform_apply(world: dict[str, Any]):
    cluster = Cluster.objects.create(name="unq-tf-ready", kind=Cluster.LOCAL, managed_by_terraform=True,
                                     status=Cluster.READY)
    run = TerraformRun.objects.create(cluster=cluster, action=TerraformRun.APPLY,
                                      state=TerraformRun.AWAITING_APPROVAL)

    def seen() -> tuple[str, str]:
        run.refresh_from_db()
        cluster.refresh_from_db()
        assert cluster.status == Cluster.READY  # nothing was applied to a cluster that exists
        return run.state, run.message

    return (lambda: terraform_run_approve(**_as(world, "admin"), run=run),
            seen, (TerraformRun.FAILED, QUEUE_MESSAGE))


def orphans_removed(world: dict[str, Any]):
    orphans = [Orphan.objects.create(kind=Orphan.NAMESPACE, location="unq", name=f"slw-unq-{i}",
                                     last_seen_at=timezone.now(), state=state)
               for i, state in enumerate((Orphan.FOUND, Orphan.FAILED))]

    def seen() -> tuple[str, str]:
        outcomes = {(o.state, o.error) for o in Orphan.objects.filter(pk__in=[o.pk for o in orphans])}
        assert len(outcomes) == 1, outcomes
        return outcomes.pop()

    return (lambda: orphans_remove_start(**_as(world, "admin"), orphan_ids=[o.pk for o in orphans]),
            seen, (Orphan.FAILED, QUEUE_MESSAGE))


CASES = [environment_rollout, environment_destroyed, sleep_asked, wake_asked, chaos_run, data_copy, data_copy_undone,
         terraform_plan, terraform_apply, orphans_removed]


def waiting() -> dict[str, list[Any]]:
    """Whatever still waits for a job, by kind: every list must be empty."""
    return {
        "jobs": list(Job.objects.filter(state__in=(Job.QUEUED, Job.RUNNING)).values_list("kind", flat=True)),
        "environments": list(Environment.objects.filter(status__in=(
            Environment.PENDING, Environment.DEPLOYING, Environment.SLEEPING, Environment.WAKING,
            Environment.DESTROYING)).values_list("name", "status")),
        "chaos runs": list(ChaosRun.objects.filter(status__in=CHAOS_ACTIVE).values_list("pk", "status")),
        "data copies": list(DataCopy.objects.filter(state__in=(DataCopy.QUEUED, DataCopy.RUNNING, DataCopy.UNDOING))
                            .values_list("pk", "state")),
        "terraform runs": list(TerraformRun.objects.filter(state__in=TerraformRun.ACTIVE).values_list("pk", "state")),
        "clusters": list(Cluster.objects.filter(status__in=(Cluster.PENDING, Cluster.PROVISIONING))
                         .values_list("name", "status")),
        "orphans": list(Orphan.objects.filter(state=Orphan.REMOVING).values_list("name", flat=True)),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_what_waits_for_a_job_that_cannot_be_queued_leaves_its_waiting_status_with_the_reason(
        case: Case, world: dict[str, Any], unreachable_queue: None, django_capture_on_commit_callbacks: Any):
    act, seen, expected = case(world)
    before = set(Job.objects.values_list("pk", flat=True))
    with pytest.raises(QueueUnavailable), django_capture_on_commit_callbacks(execute=True):
        act()
    assert seen() == expected
    job = Job.objects.exclude(pk__in=before).get()
    assert (job.state, job.error) == (Job.FAILED, QUEUE_MESSAGE)
    assert AuditEvent.objects.filter(action="job.failed", object_id=str(job.pk)).count() == 1
    assert waiting() == {kind: [] for kind in waiting()}


@pytest.mark.django_db(transaction=True)
def test_environment_create_is_audited_as_created_when_only_its_rollout_could_not_be_queued(
        world: dict[str, Any], unreachable_queue: None):
    act, seen, expected = environment_rollout(world)
    with pytest.raises(QueueUnavailable):
        act()  # the real commit sends the task, as in a request
    assert seen() == expected
    event = AuditEvent.objects.get(action="environment.create")
    environment = Environment.objects.get(name="unq-create")
    assert (event.outcome, event.object_id, event.error) == (AuditEvent.SUCCESS, str(environment.pk), "")
    assert event.details["rollout"] == f"not queued: {QUEUE_MESSAGE}"
