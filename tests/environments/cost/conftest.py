import uuid
from decimal import Decimal

import pytest

from environments.lifecycle import environment_transition
from environments.models import Blueprint, Environment, PriceTable
from environments.services import environment_create
from portal.audit.actor import Actor
from tests.environments.chaos.conftest import kwok_cluster, rolled_out  # noqa: F401  (a rolled-out environment)
from tests.environments.test_expiry_notice import chat  # noqa: F401  (the chat webhook fixture, for the budget notices)

VERSIONS = {"web": "1.5.0", "api": "2.1.0", "worker": "2.0.1"}
# Round prices so that an hour of the demo blueprint's requests is an exact Decimal at 6 places.
VCPU_HOUR, GIB_HOUR, NODE_HOUR = Decimal("0.04"), Decimal("0.008"), Decimal("0.2")


def unique(name: str) -> str:
    """The plane is shared (other parts' tests, earlier runs): names unique per run."""
    return f"cost-{name}-{uuid.uuid4().hex[:5]}"


@pytest.fixture
def priced_cluster(kwok_cluster):  # noqa: F811  (the imported fixture)
    """The stack's kwok plane (chaos tests' registration) with round test prices."""
    PriceTable.objects.create(cluster=kwok_cluster, vcpu_hour=VCPU_HOUR, gib_hour=GIB_HOUR,
                              node_hours={"m5.xlarge": str(NODE_HOUR)}, default_instance_type="m5.xlarge",
                              storage_gib_month=Decimal("0.023"), source="test prices")
    return kwok_cluster


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
