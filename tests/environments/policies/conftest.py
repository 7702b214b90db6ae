import pytest
from django.core.management import call_command

from clusters.models import Cluster
from environments.models import Blueprint
from environments.services import environment_create
from portal.audit.actor import Actor
from tests.environments.test_services import KUBECONFIG, VERSIONS


@pytest.fixture
def shop(db):
    call_command("seed_demo_blueprint", verbosity=0)
    cluster = Cluster.objects.create(name="local", kind="local", kubeconfig=KUBECONFIG, is_default=True)
    return Blueprint.objects.get(name="shop"), cluster


@pytest.fixture
def make_env(shop):
    def make(user, team, **overrides):
        blueprint, cluster = shop
        kwargs = {"name": "pol-1", "stage": "qa", "versions": dict(VERSIONS), "ttl_hours": 24} | overrides
        return environment_create(actor=Actor.for_user(user), user=user, cluster=cluster, blueprint=blueprint,
                                  team=team, **kwargs)
    return make
