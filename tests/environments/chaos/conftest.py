import time
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

from clusters.kube.owner_labels import ownership_selector
from clusters.kube.steady_state import steady_state
from clusters.models import Cluster
from clusters.services import cluster_register
from environments.chaos.models import ChaosExperiment, ChaosSettings
from environments.lifecycle import environment_transition
from environments.models import Blueprint, Environment
from environments.services import environment_create
from portal.audit.actor import Actor
from tests.clusters.kube.conftest import chaos_plane  # noqa: F401  (the node-failure test needs its stages)

UNREACHABLE = yaml.safe_dump({
    "apiVersion": "v1", "kind": "Config", "current-context": "c",
    "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
    "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}], "users": [{"name": "u", "user": {}}]})
VERSIONS = {"web": "1.5.0", "api": "2.1.0", "worker": "2.0.1"}


def ready_environment(user, team, cluster, name, *, stage="qa", enabled=True, approved_by=None):
    """A ready environment in the database only (no rollout ran), opted in to chaos."""
    environment = environment_create(actor=Actor.for_user(user), user=user, cluster=cluster,
                                     blueprint=Blueprint.objects.get(name="shop"), name=name, stage=stage,
                                     team=team, versions=dict(VERSIONS))
    environment_transition(environment, Environment.READY, actor=Actor.system("test"))
    ChaosSettings.objects.create(environment=environment, enabled=enabled, approved_by=approved_by)
    return environment


def experiment(environment, name="kill-one", **fields):
    return ChaosExperiment.objects.create(environment=environment, name=name, **{"fault": "pod-kill"} | fields)


@pytest.fixture
def offline_cluster(db):
    call_command("seed_demo_blueprint", verbosity=0)
    return Cluster.objects.create(name="engine-offline", kind="local", kubeconfig=UNREACHABLE, is_default=True)


@pytest.fixture
def kwok_cluster(db, kubeconfig_path, settings):
    settings.SLIPWAY_ROLLOUT_TIMEOUT_SECONDS = 90
    settings.SLIPWAY_CHAOS_WATCH_MARGIN_SECONDS = 20
    call_command("seed_demo_blueprint", verbosity=0)
    return cluster_register(actor=Actor.system("test"), name="engine-local", kind="local",
                            kubeconfig=Path(kubeconfig_path).read_text(), make_default=True)


@pytest.fixture
def rolled_out(users, team, kwok_cluster, cleanup_namespaces, kube_client, django_capture_on_commit_callbacks):
    """A ready environment on the control plane in its steady state, opted in to chaos."""
    def make(name: str) -> Environment:
        cleanup_namespaces.append(f"slw-{name}")
        with django_capture_on_commit_callbacks(execute=True):
            environment = environment_create(actor=Actor.for_user(users["qa"]), user=users["qa"], cluster=kwok_cluster,
                                             blueprint=Blueprint.objects.get(name="shop"),
                                             name=name, stage="qa", team=team, versions=dict(VERSIONS))
        environment.refresh_from_db()
        assert environment.status == "ready", environment.status_message
        # Ready workloads come first; the EndpointSlice controller publishes their endpoints a moment later.
        deadline = time.monotonic() + 30
        while not steady_state(kube_client, environment.namespace, selector=ownership_selector(name)).holds:
            assert time.monotonic() < deadline, "the new environment never reached its steady state"
            time.sleep(0.2)
        ChaosSettings.objects.create(environment=environment, enabled=True)
        return environment

    return make
