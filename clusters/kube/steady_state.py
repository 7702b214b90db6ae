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

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from kubernetes import client

from .list_watch import ListWatch, ReceivedClock
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


def _pod_observation(event_type: str, before: Any, pod: Any) -> str | None:
    name, node = pod.metadata.name, pod.spec.node_name if pod.spec else None
    if event_type == "DELETED":
        return f"pod {name} deleted"
    if before is None:
        return f"pod {name} created"
    if pod_ready(pod) != pod_ready(before):
        return f"pod {name} ready on {node}" if pod_ready(pod) else f"pod {name} not ready"
    if node and not (before.spec and before.spec.node_name):
        return f"pod {name} scheduled on {node}"
    return None


class RecoveryWatch:
    """Watch an environment's steady state through a fault and measure its recovery.

    Use as a context manager: entering lists and starts watching Deployments, StatefulSets,
    Services, EndpointSlices and Pods matching ``selector`` (raises TimeoutError when the lists do
    not arrive within ``sync_timeout``), so nothing that happens after the fault is missed; leaving
    stops the watch threads. Call ``mark_injected()`` just before the call that injects the fault
    (then every effect of the fault follows the injection time; calling it just after also works,
    the observations of the fault are kept either way), then ``wait_recovered()``.

    ``on_event`` receives each Observation in the thread that calls ``mark_injected`` or
    ``wait_recovered`` (never in a watch thread), so it may write to the database. ``settle_seconds``
    is how long the steady state must keep holding, with no change seen, before a recovery counts;
    it delays the answer, never the recovered_at it reports. ``watch_seconds`` is the server-side
    timeout of each watch request (the watch is resumed each time the server closes it).
    """

    def __init__(self, api: client.ApiClient, namespace: str, *, selector: str,
                 on_event: Callable[[Observation], None] | None = None, settle_seconds: float = 3.0,
                 watch_seconds: int = 60, sync_timeout: float = 30.0) -> None:
        if not selector.strip():
            raise ValueError("a recovery watch needs a label selector: an empty one would watch every object")
        self.namespace, self.selector, self.on_event = namespace, selector, on_event
        self.settle_seconds, self.sync_timeout = settle_seconds, sync_timeout
        self.clock = ReceivedClock()
        self._changed = threading.Condition()
        self._snapshot = Snapshot()
        self._pending: list[Observation] = []
        self._events: list[Observation] = []
        # (at, holds, problems, ready endpoints by service) after each change, from the injection on
        self._history: list[tuple[datetime, SteadyState, dict[str, int]]] = []
        self._last_change: datetime | None = None
        self._injected_at: datetime | None = None
        self._threads = [ListWatch(kind, list_func, namespace, selector=selector, clock=self.clock,
                                   on_sync=self._synced, on_event=self._event, on_problem=self._problem,
                                   watch_seconds=watch_seconds)
                         for kind, list_func in _list_functions(api).items()]

    # -- the watch threads' side ------------------------------------------------------------
    def _observe(self, at: datetime, kind: str, message: str) -> None:
        # Kept from the start of the watch: a fault injected before mark_injected() still shows.
        self._pending.append(Observation(at, kind, message))

    def _in_order(self, at: datetime) -> datetime:
        """A watch thread stamps its event before it takes the lock, so two threads' events can reach
        here a fraction of a millisecond out of order: keep the timeline and the history monotonic."""
        return max(at, self._last_change) if self._last_change is not None else at

    def _record(self, at: datetime) -> None:
        """After a change: note it, and the steady state it leaves (caller holds the lock)."""
        self._last_change = at
        if self._injected_at is None:
            return
        state, previous = self._snapshot.steady_state(), self._history[-1][1]
        if state.holds != previous.holds:
            self._observe(at, "steady-state", "steady state holds again" if state.holds else
                          f"steady state lost: {'; '.join(state.problems)}")
        self._history.append((at, state, self._snapshot.ready_endpoints()))
        self._changed.notify_all()

    def _synced(self, kind: str, items: list[Any], at: datetime) -> None:
        with self._changed:
            at = self._in_order(at)
            self._snapshot.replace(kind, items)
            self._record(at)

    def _event(self, kind: str, event_type: str, obj: Any, at: datetime) -> None:
        with self._changed:
            at = self._in_order(at)
            workloads, endpoints = self._snapshot.workload_summaries(), self._snapshot.ready_endpoints()
            before = self._snapshot.apply(kind, event_type, obj)
            if kind == "Pod":
                message = _pod_observation(event_type, before, obj)
                if message:
                    self._observe(at, "pod", message)
            for key, (_, summary) in self._snapshot.workload_summaries().items():
                if workloads.get(key, (None, None))[1] != summary:
                    self._observe(at, "workload", summary)
            for service, ready in self._snapshot.ready_endpoints().items():
                if endpoints.get(service) != ready:
                    self._observe(at, "endpoints", f"service {service} has {ready} ready endpoint(s)")
            self._record(at)

    def _problem(self, kind: str, message: str, at: datetime) -> None:
        with self._changed:
            self._observe(self._in_order(at), "watch", f"{kind}: {message}")
            self._changed.notify_all()

    # -- the caller's side --------------------------------------------------------------------
    def __enter__(self) -> RecoveryWatch:
        for thread in self._threads:
            thread.start()
        remaining = self.sync_timeout
        for thread in self._threads:
            started = self.clock.now()
            if not thread.synced.wait(max(0.0, remaining)):
                self.close()
                raise TimeoutError(f"could not list {thread.kind} objects in {self.namespace} "
                                   f"within {self.sync_timeout:.0f}s")
            remaining -= (self.clock.now() - started).total_seconds()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Stop and join the watch threads, 10 s at most (idempotent)."""
        deadline = self.clock.now() + timedelta(seconds=10)
        while self.watching and self.clock.now() < deadline:
            # Again each round: a thread that was between two watch requests at the first stop()
            # has a new connection to shut.
            for thread in self._threads:
                thread.stop()
            for thread in self._threads:
                thread.join(timeout=0.2)

    @property
    def watching(self) -> bool:
        """Whether any watch thread is still running."""
        return any(t.is_alive() for t in self._threads)

    @property
    def rewatches(self) -> int:
        """How many times the server closed a watch and it was resumed (all kinds together)."""
        return sum(t.rewatches for t in self._threads)

    def _deliver(self) -> None:
        with self._changed:
            pending, self._pending = self._pending, []
        self._events.extend(pending)
        if self.on_event is not None:
            for observation in pending:
                self.on_event(observation)

    def mark_injected(self) -> datetime:
        """Call right after injecting the fault: the start of the measured window (UTC)."""
        with self._changed:
            at = self._injected_at = self.clock.now()
            state = self._snapshot.steady_state()
            self._history = [(at, state, self._snapshot.ready_endpoints())]
            self._observe(at, "steady-state", "fault injected; steady state "
                          + ("holds" if state.holds else f"does not hold: {'; '.join(state.problems)}"))
        self._deliver()
        return at

    def _verdict(self, now: datetime, not_before: datetime | None) -> tuple[datetime | None, datetime | None]:
        """(lost_at, recovered_at) as the events so far tell it; recovered_at only once settled."""
        assert self._injected_at is not None
        lost_at = next((at for at, state, _ in self._history if not state.holds), None)
        if not self._history[-1][1].holds:
            return lost_at, None
        quiet_from = max(t for t in (self._last_change, self._injected_at, not_before) if t is not None)
        if (now - quiet_from).total_seconds() < self.settle_seconds:
            return lost_at, None
        if lost_at is None:
            return None, self._injected_at
        # The moment it last started holding, and has held ever since.
        since = next(at for (at, state, _), (_, before, _) in zip(reversed(self._history),
                                                                  reversed(self._history[:-1]), strict=False)
                     if state.holds and not before.holds)
        return lost_at, max(since, not_before) if not_before is not None else since

    def _unavailable(self, end: datetime) -> dict[str, float]:
        """Seconds each Service spent without a ready endpoint between the injection and ``end``."""
        services = sorted({name for _, _, ready in self._history for name in ready})
        totals = dict.fromkeys(services, 0.0)
        for (at, _, ready), following in zip(self._history, [*self._history[1:], None], strict=True):
            until = min(end, following[0]) if following else end
            for name in services:
                if ready.get(name) == 0 and until > at:
                    totals[name] += (until - at).total_seconds()
        return totals

    def wait_recovered(self, *, timeout: float, not_before: datetime | None = None,
                       stop: Callable[[], bool] | None = None) -> Recovery:
        """Wait until the steady state holds again for good, ``timeout`` seconds at most.

        ``not_before``: when a temporary fault is undone; a recovery cannot count before it.
        ``stop``: polled a few times a second; True ends the wait with ``stopped=True``. Never
        raises for the cluster's behaviour (a lost watch is re-listed and noted in the events).
        """
        if self._injected_at is None:
            raise RuntimeError("mark_injected() must be called before wait_recovered()")
        injected_at = self._injected_at
        deadline, stopped = self.clock.now() + timedelta(seconds=timeout), False
        while True:
            self._deliver()
            with self._changed:
                now = self.clock.now()
                lost_at, recovered_at = self._verdict(now, not_before)
                if recovered_at is not None or now >= deadline:
                    break
                if stop is not None and stop():
                    stopped = True
                    break
                self._changed.wait(timeout=min(0.25, (deadline - now).total_seconds()))
        end = recovered_at or now
        with self._changed:
            unavailable = self._unavailable(end)
            if recovered_at is None:
                message = "stopped before the steady state held again" if stopped else \
                    f"steady state did not hold again within {timeout:.0f}s"
            elif lost_at is None:
                message = "steady state never lost: recovery 0 s"
            else:
                message = f"recovered {(recovered_at - injected_at).total_seconds():.1f} s after the fault"
            self._observe(now, "steady-state", message)
        self._deliver()
        return Recovery(injected_at=injected_at, lost_at=lost_at, recovered_at=recovered_at, unavailable=unavailable,
                        window_seconds=(end - injected_at).total_seconds(), events=list(self._events),
                        stopped=stopped)
