"""Workloads for the chaos tests on the stack's control plane: a component is a Deployment or a
StatefulSet with a Service, labelled like the renderer labels an environment's objects."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from clusters.kube.chaos_faults import BAD_IMAGE_TAG
from clusters.kube.owner_labels import ENVIRONMENT, MANAGED_BY, MANAGED_BY_SLIPWAY, ownership_selector
from clusters.kube.steady_state import pod_ready

ENV = "kube-chaos"
SELECTOR = ownership_selector(ENV)
IMAGE = "registry.example.invalid/slipway/api:1.0"  # never pulled: kwok runs no containers


def labels(component: str) -> dict[str, str]:
    return {MANAGED_BY: MANAGED_BY_SLIPWAY, ENVIRONMENT: ENV, "app.kubernetes.io/name": component}


def component_create(api: k8s.ApiClient, namespace: str, name: str, *, kind: str = "Deployment", replicas: int = 2,
                     image: str = IMAGE, **pod_spec: Any) -> None:
    """A Deployment (or StatefulSet) of ``replicas`` pods and a Service selecting them.

    ``pod_spec``: more fields of the pod template's spec (tolerations, affinity...).
    """
    meta = {"name": name, "namespace": namespace, "labels": labels(name)}
    template = {"metadata": {"labels": labels(name)}, "spec": {
        "containers": [{"name": "app", "image": image, "ports": [{"containerPort": 8000}]}],
        "terminationGracePeriodSeconds": 0, **pod_spec}}
    spec: dict[str, Any] = {"replicas": replicas, "selector": {"matchLabels": labels(name)}, "template": template}
    apps = k8s.AppsV1Api(api)
    if kind == "Deployment":
        apps.create_namespaced_deployment(namespace, {"apiVersion": "apps/v1", "kind": kind, "metadata": meta,
                                                      "spec": spec})
    else:
        apps.create_namespaced_stateful_set(namespace, {"apiVersion": "apps/v1", "kind": kind, "metadata": meta,
                                                        "spec": {**spec, "serviceName": name}})
    k8s.CoreV1Api(api).create_namespaced_service(namespace, {
        "apiVersion": "v1", "kind": "Service", "metadata": meta,
        "spec": {"selector": labels(name), "ports": [{"port": 80, "targetPort": 8000}]}})


@pytest.fixture(scope="session")
def chaos_plane(kube_client: k8s.ApiClient) -> k8s.ApiClient:
    """The stack's control plane, provided it runs devstack/kwok/stages.yaml (chaos behaviour).

    A plane started before that file existed readies every pod and re-readies every node; the
    tests that need a failed node or a bad image skip there, saying what to do.
    """
    core, namespace = k8s.CoreV1Api(kube_client), f"kube-chaos-probe-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": namespace, "labels": {"slipway.test/namespace": "true"}}})
    try:
        pod = eventually(lambda: _probe_pod(core, namespace), what="the bad-image probe pod reports", timeout=60)
    finally:
        core.delete_namespace(namespace, propagation_policy="Background")
    if pod_ready(pod):
        pytest.skip("the local control plane predates devstack/kwok/stages.yaml: restart it "
                    "(python -m devstack down && python -m devstack up) to run the chaos node and image tests")
    return kube_client


def _probe_pod(core: k8s.CoreV1Api, namespace: str) -> Any:
    try:
        core.create_namespaced_pod(namespace, {"metadata": {"name": "probe"}, "spec": {
            "containers": [{"name": "app", "image": f"{IMAGE.rsplit(':', 1)[0]}:{BAD_IMAGE_TAG}"}]}})
    except ApiException as exc:
        if exc.status == 403:  # the namespace's default service account is not there yet
            return None
        if exc.status != 409:
            raise
    pod = core.read_namespaced_pod("probe", namespace)
    return pod if pod.status.container_statuses else None


def eventually(check: Callable[[], Any], *, what: str, timeout: float = 90) -> Any:
    """Poll ``check`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f}s (last: {result!r})")
        time.sleep(0.3)
