"""The security suite: a hostile signed-in user against every boundary (issue 14).

Every test here carries the ``security`` marker. Property-based tests use the hypothesis profile
``suite`` (few examples, part of ``make test``); ``make test-security-deep`` runs the same tests
with the ``deep`` profile (many more examples).
"""

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, settings

from clusters.models import Cluster
from environments.models import Blueprint, Environment
from environments.services import environment_create
from portal.audit.actor import Actor

from ..environments.test_services import KUBECONFIG, VERSIONS
from ..factories import JobFactory

settings.register_profile(
    "suite", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile(
    "deep", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("SLIPWAY_HYPOTHESIS_PROFILE", "suite"))

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.security)


@pytest.fixture
def probe_world(users, team, aws_settings):
    """What a hostile user probes: the demo blueprint, a default cluster that cannot be reached, a
    ready QA environment of ``team`` and a job."""
    call_command("seed_demo_blueprint", verbosity=0)
    cluster = Cluster.objects.create(name="local", kind="existing", kubeconfig=KUBECONFIG,
                                     api_server="https://127.0.0.1:1", is_default=True)
    blueprint = Blueprint.objects.get(name="shop")
    environment = environment_create(actor=Actor.for_user(users["qa"]), user=users["qa"], cluster=cluster,
                                     blueprint=blueprint, name="qa-1", stage="qa", team=team, versions=dict(VERSIONS))
    Environment.objects.filter(pk=environment.pk).update(status=Environment.READY)
    return SimpleNamespace(users=users, cluster=cluster, blueprint=blueprint, environment=environment,
                           job=JobFactory())
