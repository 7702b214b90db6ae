"""An environment's steady state, and how long it took to come back after a fault (``RecoveryWatch``).

The steady state holds when every Deployment and StatefulSet matching the selector has its desired
ready replicas and every Service matching it (one that selects pods) has at least one ready
endpoint in its EndpointSlices. The EndpointSlice controller copies a Service's labels onto its
slices, so one label selector finds workloads, Services, slices and pods alike.

``RecoveryWatch`` lists and watches all of those before the fault and keeps their latest state in
memory; each watch event is stamped with the time it was received, so the figures come from what
the cluster said and when, never from sleeping and polling.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubernetes import client

from .readiness import count, wanted_replicas

SERVICE_NAME = "kubernetes.io/service-name"  # the label that ties an EndpointSlice to its Service
KINDS = ("Deployment", "StatefulSet", "Service", "EndpointSlice", "Pod")


@dataclass(frozen=True)
class SteadyState:
    holds: bool
    problems: list[str]  # e.g. "api 1/2 ready", "service api has no ready endpoint"


@dataclass(frozen=True)
class Observation:
    at: datetime  # when the watch event that showed it was received (UTC)
    kind: str  # "pod", "workload", "endpoints", "steady-state", "watch"
    message: str


@dataclass(frozen=True)
class Recovery:
    injected_at: datetime
    lost_at: datetime | None  # first moment after the injection the steady state did not hold
    recovered_at: datetime | None  # when it held again for good; None: not within the timeout
    unavailable: dict[str, float]  # service -> seconds in the window with no ready endpoint
    window_seconds: float  # from the injection to the recovery (or to the end of the wait)
    events: list[Observation]
    stopped: bool  # the caller's ``stop()`` ended the wait

    @property
    def recovery_seconds(self) -> float | None:
        return None if self.recovered_at is None else (self.recovered_at - self.injected_at).total_seconds()


def _endpoint_ready(endpoint: Any) -> bool:
    # discovery.k8s.io/v1: a nil "ready" condition is to be read as ready.
    conditions = endpoint.conditions
    return conditions is None or conditions.ready is None or bool(conditions.ready)


def _selects_pods(service: Any) -> bool:
    return bool(service.spec and service.spec.selector) and service.spec.type != "ExternalName"


def pod_ready(pod: Any) -> bool:
    """Whether the pod's Ready condition is True (and it is not being deleted)."""
    if pod.metadata.deletion_timestamp is not None:
        return False
    return any(c.type == "Ready" and c.status == "True" for c in (pod.status and pod.status.conditions) or [])


class Snapshot:
    """The latest known objects of each kind, by name, and what they say about the steady state."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}

    def replace(self, kind: str, items: list[Any]) -> None:
        self.objects[kind] = {item.metadata.name: item for item in items}

    def apply(self, kind: str, event_type: str, obj: Any) -> Any:
        """Record one watch event; returns the object as it was before (None if unknown)."""
        known = self.objects[kind]
        before = known.get(obj.metadata.name)
        if event_type == "DELETED":
            known.pop(obj.metadata.name, None)
        else:
            known[obj.metadata.name] = obj
        return before

    def ready_endpoints(self) -> dict[str, int]:
        """Ready endpoints of each pod-selecting Service, by Service name."""
        ready = {name: 0 for name, svc in self.objects["Service"].items() if _selects_pods(svc)}
        for endpoint_slice in self.objects["EndpointSlice"].values():
            service = (endpoint_slice.metadata.labels or {}).get(SERVICE_NAME)
            if service in ready:
                ready[service] += sum(1 for e in endpoint_slice.endpoints or [] if _endpoint_ready(e))
        return ready

    def workload_summaries(self) -> dict[str, tuple[bool, str]]:
        """``(has its desired ready replicas, "api 1/2 ready")`` of each Deployment and StatefulSet."""
        summaries = {}
        for kind in ("Deployment", "StatefulSet"):
            for name, workload in self.objects[kind].items():
                want, ready = wanted_replicas(workload), count(workload.status and workload.status.ready_replicas)
                summaries[f"{kind}/{name}"] = (ready >= want, f"{name} {ready}/{want} ready")
        return summaries

    def steady_state(self) -> SteadyState:
        problems = [summary for ok, summary in sorted(self.workload_summaries().values(), key=lambda s: s[1])
                    if not ok]
        problems += [f"service {name} has no ready endpoint" for name, ready in sorted(self.ready_endpoints().items())
                     if ready == 0]
        return SteadyState(holds=not problems, problems=problems)


def _list_functions(api: client.ApiClient) -> dict[str, Callable[..., Any]]:
    apps, core, discovery = client.AppsV1Api(api), client.CoreV1Api(api), client.DiscoveryV1Api(api)
    return {"Deployment": apps.list_namespaced_deployment, "StatefulSet": apps.list_namespaced_stateful_set,
            "Service": core.list_namespaced_service, "EndpointSlice": discovery.list_namespaced_endpoint_slice,
            "Pod": core.list_namespaced_pod}


def steady_state(api: client.ApiClient, namespace: str, *, selector: str) -> SteadyState:
    """Whether the steady state holds right now in ``namespace`` for objects matching ``selector``.

    Read-only. Raises ValueError for an empty selector and API errors.
    """
    if not selector.strip():
        raise ValueError("the steady state needs a label selector: an empty one would judge every object")
    snapshot = Snapshot()
    for kind, list_func in _list_functions(api).items():
        if kind != "Pod":
            snapshot.replace(kind, list_func(namespace, label_selector=selector).items)
    return snapshot.steady_state()
