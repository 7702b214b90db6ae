"""`make run`'s demo pod logs: the demo blueprint's pods on the local kwok cluster print like real ones."""

from __future__ import annotations

import random

from kubernetes import client as k8s

from clusters.kube.owner_labels import MANAGED_BY
from environments.management.commands.demo_pod_logs import DemoLogs
from tests.environments.logs.support import make_environment, start_pod

SLIPWAY = {MANAGED_BY: "slipway"}


def test_demo_environment_pods_get_startup_and_access_lines(kube_client, kube_namespace, kubeconfig_path,
                                                            users, team):
    make_environment(kubeconfig_path, kube_namespace, team=team, owner=users["qa"])
    for pod, component in (("web-7d9f", "web"), ("api-5c2b", "api"), ("worker-4f1a", "worker")):
        start_pod(kube_client, kube_namespace, pod, component, labels=SLIPWAY, register_log=False)
    start_pod(kube_client, kube_namespace, "not-slipways", "web", register_log=False)

    feeder = DemoLogs(rng=random.Random(13))
    assert feeder.feed_once() == (3 + 1) + (5 + 1) + (3 + 1)
    assert feeder.feed_once() == 3  # started once; then one line per container and round

    core = k8s.CoreV1Api(kube_client)
    web = core.read_namespaced_pod_log("web-7d9f", kube_namespace, container="web").splitlines()
    assert web[0] == "/docker-entrypoint.sh: example.test/app:1 starting nginx on port 8080"
    assert len(web) == 5 and all(' HTTP/1.1" ' in line for line in web[3:])
    api = core.read_namespaced_pod_log("api-5c2b", kube_namespace, container="api")
    assert "Uvicorn running on http://0.0.0.0:8000" in api and "\x1b[32mINFO\x1b[0m" in api
    worker = core.read_namespaced_pod_log("worker-4f1a", kube_namespace, container="worker")
    assert "celery@worker-4f1a ready" in worker and "] Task shop." in worker
    # A pod Slipway does not manage keeps kwok's default, empty log.
    assert core.read_namespaced_pod_log("not-slipways", kube_namespace, container="web") == ""


def test_a_bound_pod_gets_its_log_at_once_not_at_the_next_round(kube_client, kube_namespace, kubeconfig_path,
                                                                 users, team):
    """Registered on the pod's own watch event: a logs page opened right after "ready" follows the real file."""
    make_environment(kubeconfig_path, kube_namespace, team=team, owner=users["qa"])
    start_pod(kube_client, kube_namespace, "web-1a2b", "web", labels=SLIPWAY, register_log=False)

    feeder = DemoLogs(rng=random.Random(7))
    assert feeder.start_new(1) == 3  # nginx's three start-up lines, without waiting for a feeding round
    assert feeder.start_new(1) == 0  # once
    log = k8s.CoreV1Api(kube_client).read_namespaced_pod_log("web-1a2b", kube_namespace, container="web")
    assert log.startswith("/docker-entrypoint.sh: example.test/app:1 starting nginx on port 8080")
