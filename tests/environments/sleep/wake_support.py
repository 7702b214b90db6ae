"""The wake part's fixtures (imported by its test modules): ready environments in the database only, on an
unreachable cluster (the schedule, idle, activity and wake-on-request tests need no rollout)."""

import pytest
from django.core.management import call_command

from clusters.models import Cluster
from environments.lifecycle import environment_transition
from environments.models import Blueprint, Environment
from environments.services import environment_create
from portal.audit.actor import Actor
from tests.environments.chaos.conftest import UNREACHABLE, VERSIONS


def ready_environment(user, team, cluster, name, *, stage="qa", hostname=""):
    """A ready environment in the database only (no rollout ran)."""
    environment = environment_create(actor=Actor.for_user(user), user=user, cluster=cluster,
                                     blueprint=Blueprint.objects.get(name="shop"), name=name, stage=stage,
                                     team=team, versions=dict(VERSIONS))
    environment_transition(environment, Environment.READY, actor=Actor.system("test"))
    if hostname:
        Environment.objects.filter(pk=environment.pk).update(hostname=hostname)
        environment.hostname = hostname
    return environment


@pytest.fixture
def sleep_cluster(db):
    call_command("seed_demo_blueprint", verbosity=0)
    return Cluster.objects.create(name="wake-offline", kind="local", kubeconfig=UNREACHABLE, is_default=True)


@pytest.fixture
def make_ready(users, team, sleep_cluster):
    def make(name, **kwargs):
        return ready_environment(users["qa"], team, sleep_cluster, name, **kwargs)

    return make
