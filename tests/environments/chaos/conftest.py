import pytest
import yaml
from django.core.management import call_command

from clusters.models import Cluster
from environments.chaos.models import ChaosExperiment, ChaosSettings
from environments.lifecycle import environment_transition
from environments.models import Blueprint, Environment
from environments.services import environment_create
from portal.audit.actor import Actor

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
