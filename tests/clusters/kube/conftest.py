"""Workloads for the chaos tests on the stack's control plane: a component is a Deployment or a
StatefulSet with a Service, labelled like the renderer labels an environment's objects."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kubernetes import client as k8s

from clusters.kube.owner_labels import ENVIRONMENT, MANAGED_BY, MANAGED_BY_SLIPWAY, ownership_selector

ENV = "kube-chaos"
SELECTOR = ownership_selector(ENV)
IMAGE = "registry.example.invalid/slipway/api:1.0"  # never pulled: kwok runs no containers


def labels(component: str) -> dict[str, str]:
    return {MANAGED_BY: MANAGED_BY_SLIPWAY, ENVIRONMENT: ENV, "app.kubernetes.io/name": component}


def pod_template(component: str, image: str, tolerations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": image, "ports": [{"containerPort": 8000}]}],
                            "terminationGracePeriodSeconds": 0}
    if tolerations:
        spec["tolerations"] = tolerations
    return {"metadata": {"labels": labels(component)}, "spec": spec}


def component_create(api: k8s.ApiClient, namespace: str, name: str, *, kind: str = "Deployment", replicas: int = 2,
                     image: str = IMAGE, tolerations: list[dict[str, Any]] | None = None) -> None:
    """A Deployment (or StatefulSet) of ``replicas`` pods and a Service selecting them."""
    meta = {"name": name, "namespace": namespace, "labels": labels(name)}
    spec: dict[str, Any] = {"replicas": replicas, "selector": {"matchLabels": labels(name)},
                            "template": pod_template(name, image, tolerations)}
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
