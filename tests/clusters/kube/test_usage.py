"""Usage read from the stack's kwok control plane: requests of running managed pods, nodes by type."""

from __future__ import annotations

import time
from decimal import Decimal

from kubernetes import client as k8s

from clusters.kube.owner_labels import ENVIRONMENT, MANAGED_BY, MANAGED_BY_SLIPWAY
from clusters.kube.usage import managed_pod_usage, nodes_by_instance_type

MANAGED = {MANAGED_BY: MANAGED_BY_SLIPWAY, ENVIRONMENT: "cost-usage"}


def pod(name: str, labels: dict[str, str], requests: list[dict[str, str]], init: dict[str, str] | None = None) -> dict:
    containers = [{"name": f"c{i}", "image": "registry.example.invalid/app:1", "resources": {"requests": r}}
                  for i, r in enumerate(requests)]
    spec = {"containers": containers, "terminationGracePeriodSeconds": 0}
    if init:
        spec["initContainers"] = [{"name": "init", "image": "registry.example.invalid/init:1",
                                   "resources": {"requests": init}}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels}, "spec": spec}


def wait_running(core: k8s.CoreV1Api, namespace: str, count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pods = core.list_namespaced_pod(namespace).items
        if sum(p.status.phase == "Running" for p in pods) == count:
            return
        time.sleep(0.2)
    raise AssertionError(f"{namespace}: not {count} running pods after 60 s")


def test_managed_running_pods_requests_are_summed_per_namespace(kube_client, kube_namespace):
    core = k8s.CoreV1Api(kube_client)
    core.create_namespaced_pod(kube_namespace, pod("web", MANAGED, [{"cpu": "250m", "memory": "256Mi"},
                                                                     {"cpu": "50m", "memory": "64Mi"}]))
    # The init container asks more CPU than the containers: the scheduler reserves the larger.
    core.create_namespaced_pod(kube_namespace, pod("api", MANAGED, [{"cpu": "100m", "memory": "1Gi"}],
                                                   init={"cpu": "500m", "memory": "128Mi"}))
    core.create_namespaced_pod(kube_namespace, pod("stranger", {"app": "not-slipway"}, [{"cpu": "2", "memory": "2Gi"}]))
    wait_running(core, kube_namespace, 3)

    usage = managed_pod_usage(kube_client)[kube_namespace]
    assert usage.pods == 2
    assert usage.cpu_cores == Decimal("0.8")  # 0.25 + 0.05 + max(0.1, 0.5)
    assert usage.memory_bytes == Decimal((256 + 64 + 1024) * 1024 ** 2)


def test_nodes_are_counted_by_their_instance_type_label(kube_client):
    counts = nodes_by_instance_type(kube_client)
    nodes = k8s.CoreV1Api(kube_client).list_node().items
    assert sum(counts.values()) == len(nodes)
    assert counts.get("m5.xlarge", 0) == sum(
        (n.metadata.labels or {}).get("node.kubernetes.io/instance-type") == "m5.xlarge" for n in nodes)
    assert counts.get("m5.xlarge", 0) >= 1  # the stack's kwok nodes carry m5.xlarge
