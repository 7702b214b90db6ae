"""Environments for the sleep tests: in the database only (refusals, races), or rolled out on the stack's
control plane with an autoscaled component and a hostname (so an HPA and an Ingress exist)."""

import uuid

import pytest
from kubernetes import client as k8s

from environments.models import Blueprint, Component, Environment
from environments.services import environment_create
from portal.audit.actor import Actor
from tests.environments.chaos.conftest import VERSIONS, kwok_cluster, offline_cluster  # noqa: F401  (fixtures)
from tests.environments.sleep.wake_support import make_ready  # noqa: F401  (the wake part's fixtures)


def deployments(api, namespace) -> dict[str, int]:
    return {d.metadata.name: d.spec.replicas for d in k8s.AppsV1Api(api).list_namespaced_deployment(namespace).items}


def run_use_case(use_case, env, user, capture, wanted):
    """Run the use case (sleep, wake) and its job (eagerly); the environment must end ``wanted``."""
    with capture(execute=True):
        rollout = use_case(actor=Actor.for_user(user), user=user, environment=env)
    env.refresh_from_db()
    rollout.job.refresh_from_db()
    assert env.status == wanted, (env.status_message, rollout.job.error)
    return rollout


@pytest.fixture
def awake(users, team, kwok_cluster, cleanup_namespaces, django_capture_on_commit_callbacks,  # noqa: F811
          settings):
    """make(name): a ready environment on the control plane whose "web" has an HPA (min 1, max 5) and
    which has a hostname (so its Ingress exists)."""
    settings.SLIPWAY_SLEEP_TIMEOUT_SECONDS = 60
    settings.SLIPWAY_WAKE_ADDRESS = "10.0.0.5:8000"
    Component.objects.filter(name="web").update(autoscaling_min=1, autoscaling_max=5)

    def make(name: str) -> Environment:
        name = f"sleep-{name}-{uuid.uuid4().hex[:5]}"  # unique: the plane is shared between runs
        cleanup_namespaces.append(f"slw-{name}")
        with django_capture_on_commit_callbacks() as callbacks:
            environment = environment_create(actor=Actor.for_user(users["qa"]), user=users["qa"],
                                             cluster=kwok_cluster, blueprint=Blueprint.objects.get(name="shop"),
                                             name=name, stage="qa", team=team, versions=dict(VERSIONS))
            Environment.objects.filter(pk=environment.pk).update(hostname=f"{name}.sleep.test")
        with django_capture_on_commit_callbacks(execute=True):
            for callback in callbacks:
                callback()
        environment.refresh_from_db()
        assert environment.status == "ready", environment.status_message
        return environment

    return make
