"""What a cluster is using, for cost sampling: the requests of the running pods Slipway manages, per
namespace, and the nodes by instance type.

Requests are read from the cluster (what the scheduler reserved), not from a blueprint: a scaled-down,
half-rolled-out or hand-edited environment costs what actually runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kubernetes import client
from kubernetes.utils import parse_quantity

from .owner_labels import MANAGED_BY, MANAGED_BY_SLIPWAY

INSTANCE_TYPE = "node.kubernetes.io/instance-type"


@dataclass(frozen=True)
class NamespaceUsage:
    """The summed requests of a namespace's running pods: CPU in cores, memory in bytes (exact)."""

    cpu_cores: Decimal
    memory_bytes: Decimal
    pods: int


def _effective(containers: list[dict], init_containers: list[dict], overhead: dict) -> tuple[Decimal, Decimal]:
    """(cores, bytes) the scheduler reserves for a pod: the larger of its containers' sum and its largest
    init container, plus the pod overhead. Containers are {"cpu": "100m", "memory": "128Mi"} requests."""
    def pair(requests: dict) -> tuple[Decimal, Decimal]:
        return parse_quantity(requests.get("cpu", "0")), parse_quantity(requests.get("memory", "0"))

    main = [pair(r) for r in containers]
    init = [pair(r) for r in init_containers]
    cpu = max([sum((c for c, _ in main), Decimal(0))] + [c for c, _ in init])
    memory = max([sum((m for _, m in main), Decimal(0))] + [m for _, m in init])
    extra = pair(overhead or {})
    return cpu + extra[0], memory + extra[1]


def pod_requests(pod: Any) -> tuple[Decimal, Decimal]:
    """A running pod's (``V1Pod``) effective requests in (cores, bytes)."""
    def requests(containers: list[Any] | None) -> list[dict]:
        return [(c.resources.requests if c.resources else None) or {} for c in containers or []]

    spec = pod.spec
    return _effective(requests(spec.containers), requests(spec.init_containers), spec.overhead or {})


def workload_pod_requests(manifest: dict[str, Any]) -> tuple[Decimal, Decimal]:
    """The effective requests (cores, bytes) of ONE pod of a rendered Deployment/StatefulSet manifest."""
    spec = manifest.get("spec", {}).get("template", {}).get("spec", {})

    def requests(containers: list[dict] | None) -> list[dict]:
        return [(c.get("resources") or {}).get("requests") or {} for c in containers or []]

    return _effective(requests(spec.get("containers")), requests(spec.get("initContainers")), spec.get("overhead"))


def managed_pod_usage(api: client.ApiClient) -> dict[str, NamespaceUsage]:
    """{namespace: usage} of the running pods labelled as Slipway's, over every namespace, in one list
    call. Pending, succeeded and failed pods reserve nothing on a node and are left out. Raises API errors."""
    pods = client.CoreV1Api(api).list_pod_for_all_namespaces(
        label_selector=f"{MANAGED_BY}={MANAGED_BY_SLIPWAY}", field_selector="status.phase=Running").items
    totals: dict[str, list] = {}
    for pod in pods:
        cpu, memory = pod_requests(pod)
        entry = totals.setdefault(pod.metadata.namespace, [Decimal(0), Decimal(0), 0])
        entry[0] += cpu
        entry[1] += memory
        entry[2] += 1
    return {namespace: NamespaceUsage(cpu_cores=cpu, memory_bytes=memory, pods=count)
            for namespace, (cpu, memory, count) in totals.items()}


def nodes_by_instance_type(api: client.ApiClient) -> dict[str, int]:
    """{instance type: node count} of the cluster's nodes; a node without the
    ``node.kubernetes.io/instance-type`` label counts under "". Raises API errors."""
    counts: dict[str, int] = {}
    for node in client.CoreV1Api(api).list_node().items:
        instance_type = (node.metadata.labels or {}).get(INSTANCE_TYPE, "")
        counts[instance_type] = counts.get(instance_type, 0) + 1
    return counts
