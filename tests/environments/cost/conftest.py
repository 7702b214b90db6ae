import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from clusters.kube.owner_labels import ownership_selector
from clusters.kube.steady_state import steady_state
from clusters.services import cluster_register
from environments.lifecycle import environment_transition
from environments.models import Blueprint, Environment, PriceTable
from environments.services import environment_create
from portal.audit.actor import Actor
from tests.environments.test_expiry_notice import chat  # noqa: F401  (the chat webhook fixture, for the budget notices)

VERSIONS = {"web": "1.5.0", "api": "2.1.0", "worker": "2.0.1"}
# Round prices so that an hour of the demo blueprint's requests is an exact Decimal at 6 places.
VCPU_HOUR, GIB_HOUR, NODE_HOUR = Decimal("0.04"), Decimal("0.008"), Decimal("0.2")


def unique(name: str) -> str:
    """The plane is shared (other parts' tests, earlier runs): names unique per run."""
    return f"cost-{name}-{uuid.uuid4().hex[:5]}"


@pytest.fixture
def kwok_cluster(db, kubeconfig_path, settings):
    settings.SLIPWAY_ROLLOUT_TIMEOUT_SECONDS = 90
    call_command("seed_demo_blueprint", verbosity=0)
    cluster = cluster_register(actor=Actor.system("test"), name=unique("plane"), kind="local",
                               kubeconfig=Path(kubeconfig_path).read_text(), make_default=True)
    PriceTable.objects.create(cluster=cluster, vcpu_hour=VCPU_HOUR, gib_hour=GIB_HOUR,
                              node_hours={"m5.xlarge": str(NODE_HOUR)}, default_instance_type="m5.xlarge",
                              storage_gib_month=Decimal("0.023"), source="test prices")
    return cluster


def db_environment(user, team, cluster, *, stage="qa", status=Environment.READY, ttl_hours=None):
    """An environment in the database only (no rollout ran, so no pods): its namespace does not exist."""
    environment = environment_create(actor=Actor.for_user(user), user=user, cluster=cluster,
                                     blueprint=Blueprint.objects.get(name="shop"), name=unique("db"), stage=stage,
                                     team=team, versions=dict(VERSIONS), ttl_hours=ttl_hours)
    path = {Environment.READY: [Environment.READY],
            Environment.ASLEEP: [Environment.READY, Environment.SLEEPING, Environment.ASLEEP],
            Environment.DESTROYED: [Environment.READY, Environment.DESTROYING, Environment.DESTROYED]}[status]
    for step in path:
        environment_transition(environment, step, actor=Actor.system("test"))
    environment.refresh_from_db()
    return environment


@pytest.fixture
def rolled_out(users, team, kwok_cluster, cleanup_namespaces, kube_client, django_capture_on_commit_callbacks):
    """A ready environment on the control plane, every pod running."""
    def make(name: str) -> Environment:
        name = unique(name)
        cleanup_namespaces.append(f"slw-{name}")
        with django_capture_on_commit_callbacks(execute=True):
            environment = environment_create(actor=Actor.for_user(users["qa"]), user=users["qa"], cluster=kwok_cluster,
                                             blueprint=Blueprint.objects.get(name="shop"),
                                             name=name, stage="qa", team=team, versions=dict(VERSIONS))
        environment.refresh_from_db()
        assert environment.status == "ready", environment.status_message
        deadline = time.monotonic() + 30
        while not steady_state(kube_client, environment.namespace, selector=ownership_selector(name)).holds:
            assert time.monotonic() < deadline, "the new environment never reached its steady state"
            time.sleep(0.2)
        return environment

    return make
