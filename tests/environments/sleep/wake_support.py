"""The wake part's fixtures (imported by its test modules): ready environments in the database only, on an
unreachable cluster (the schedule, idle, activity and wake-on-request tests need no rollout)."""

import pytest

from environments.lifecycle import environment_transition
from environments.models import Blueprint, Environment
from environments.services import environment_create
from environments.sleep.models import SleepState
from portal.audit.actor import Actor
from portal.jobs.models import Job
from tests.environments.chaos.conftest import VERSIONS


def ready_environment(user, team, cluster, name, *, stage="qa", hostname=""):
    """A ready environment in the database only (no rollout ran)."""
    environment = environment_create(actor=Actor.for_user(user), user=user, cluster=cluster,
                                     blueprint=Blueprint.objects.get(name="shop"), name=name, stage=stage,
                                     team=team, versions=dict(VERSIONS))
    environment_transition(environment, Environment.READY, actor=Actor.system("test"))
    Job.objects.filter(pk=environment.rollouts.get().job_id).update(state=Job.SUCCEEDED)  # no worker ran it
    if hostname:
        Environment.objects.filter(pk=environment.pk).update(hostname=hostname)
        environment.hostname = hostname
    return environment


@pytest.fixture
def make_ready(users, team, offline_cluster):
    """make(name): a ready environment (database only) on chaos's unreachable cluster."""
    def make(name, **kwargs):
        return ready_environment(users["qa"], team, offline_cluster, name, **kwargs)

    return make


def job_done(environment, status, **state):
    """What the sleep or wake job does when it ends (the tests run no worker): its job succeeds, the status
    moves (sleeping → asleep, waking → ready) and the sleep state gets the test's own times."""
    Job.objects.filter(target_type="environments.environment", target_id=str(environment.pk),
                       state__in=(Job.QUEUED, Job.RUNNING)).update(state=Job.SUCCEEDED)
    environment.refresh_from_db()
    environment_transition(environment, status, actor=Actor.system("test"))
    if state:
        SleepState.objects.update_or_create(environment=environment, defaults=state)
