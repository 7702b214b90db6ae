"""The namespaces Slipway manages in a cluster, as the orphan sweeper sees them: their owner labels and
marker, and what their running pods request (what they cost while they stay)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kubernetes import client
from kubernetes.client.rest import ApiException
from kubernetes.utils import parse_quantity

from .owner_labels import ENVIRONMENT, MANAGED_BY, MANAGED_BY_SLIPWAY, OWNER_MARKER

GIB = 1024 ** 3


@dataclass(frozen=True)
class ManagedNamespace:
    """One namespace labelled ``managed-by=slipway``: ``owner_marker`` is its ownership annotation ("" when
    it has none); the requests are the sums over its Running pods' containers."""

    name: str
    environment: str
    owner_marker: str
    terminating: bool
    running_pods: int = 0
    cpu_cores: float = 0.0
    memory_gib: float = 0.0
    labels: dict[str, str] = field(default_factory=dict)


def _requests(pods: list[client.V1Pod]) -> tuple[float, float]:
    cpu = memory = 0.0
    for pod in pods:
        for container in pod.spec.containers or []:
            requests = (container.resources and container.resources.requests) or {}
            cpu += float(parse_quantity(requests.get("cpu", "0")))
            memory += float(parse_quantity(requests.get("memory", "0"))) / GIB
    return cpu, memory


def _described(api: client.ApiClient, ns: client.V1Namespace) -> ManagedNamespace:
    meta = ns.metadata
    pods = client.CoreV1Api(api).list_namespaced_pod(meta.name, field_selector="status.phase=Running").items
    cpu, memory = _requests(pods)
    labels = meta.labels or {}
    return ManagedNamespace(name=meta.name, environment=labels.get(ENVIRONMENT, ""),
                            owner_marker=(meta.annotations or {}).get(OWNER_MARKER, ""),
                            terminating=bool(meta.deletion_timestamp), running_pods=len(pods),
                            cpu_cores=round(cpu, 4), memory_gib=round(memory, 4), labels=dict(labels))


def managed_namespaces(api: client.ApiClient) -> list[ManagedNamespace]:
    """Every namespace labelled as managed by Slipway (any installation: the caller compares markers),
    with its running pods' requests. Read-only."""
    listing = client.CoreV1Api(api).list_namespace(label_selector=f"{MANAGED_BY}={MANAGED_BY_SLIPWAY}")
    return [_described(api, ns) for ns in listing.items]


def managed_namespace(api: client.ApiClient, name: str) -> ManagedNamespace | None:
    """One namespace as ``managed_namespaces`` describes it, read now; None when it does not exist or is
    not labelled as Slipway's."""
    try:
        ns = client.CoreV1Api(api).read_namespace(name)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    if (ns.metadata.labels or {}).get(MANAGED_BY) != MANAGED_BY_SLIPWAY:
        return None
    return _described(api, ns)
