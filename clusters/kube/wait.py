"""Wait for Deployments and StatefulSets to finish rolling out, by watching them.

When a rollout cannot finish, ``RolloutFailed.reason`` says why in words a developer can act on,
built from the namespace's Warning events and pod states (``failure_reason``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from kubernetes import client, watch
from kubernetes.client.rest import ApiException
from urllib3.exceptions import MaxRetryError, ProtocolError, ReadTimeoutError

from .readiness import count, deployment_ready, statefulset_ready

ProgressCallback = Callable[[int, int, str], None]

IMAGE_PULL_REASONS = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
# An API server restarting (a crash, an upgrade of the control plane) refuses connections for a few
# seconds: the wait lists again with back-off for up to this long, within its own deadline, rather than
# fail a rollout that the cluster is still carrying out. Longer than that, the cluster is unreachable.
API_SERVER_RESTART_GRACE_SECONDS = 60.0


class RolloutFailed(Exception):
    """The rollout did not become ready; ``reason`` is a human explanation."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _condition(obj: Any, type_: str) -> Any:
    return next((c for c in (obj.status and obj.status.conditions) or [] if c.type == type_), None)


class _Stalled(Exception):
    """A Deployment reported ProgressDeadlineExceeded: waiting longer will not help."""


class _Rollout:
    """What is known about each workload, progress reporting, and the fail-fast rules."""

    def __init__(self, deployments: Sequence[str], statefulsets: Sequence[str], on_progress: ProgressCallback | None,
                 quota_grace: float) -> None:
        self.state = {(kind, n): (False, f"{n} not found") for kind, names in
                      (("Deployment", deployments), ("StatefulSet", statefulsets)) for n in names}
        self.on_progress, self.quota_grace = on_progress, quota_grace
        self.last_report: tuple[int, str] | None = None
        self.quota: dict[str, tuple[float, tuple[int, ...], str]] = {}  # name -> (since, counts, message)

    def update(self, kind: str, name: str, obj: Any) -> None:
        if obj is None:
            self.state[kind, name] = (False, f"{name} not found")
            self.quota.pop(name, None)
            return
        self.state[kind, name] = deployment_ready(obj) if kind == "Deployment" else statefulset_ready(obj)
        if kind != "Deployment":
            return
        if (c := _condition(obj, "Progressing")) and c.status == "False" and c.reason == "ProgressDeadlineExceeded":
            raise _Stalled(name)
        failure = _condition(obj, "ReplicaFailure")
        message = (failure.message or "") if failure and failure.status == "True" else ""
        if "exceeded quota" not in message:
            self.quota.pop(name, None)
            return
        s = obj.status
        counts = (count(s.replicas), count(s.updated_replicas), count(s.ready_replicas), count(s.available_replicas))
        since, seen, _ = self.quota.get(name, (time.monotonic(), counts, message))
        # A surge pod may exceed the quota for a moment during a rolling update: only a rollout
        # that stays blocked without progress for quota_grace seconds has failed.
        self.quota[name] = (since if seen == counts else time.monotonic(), counts, message)

    def check_quota(self) -> None:
        for since, _, message in self.quota.values():
            if time.monotonic() - since >= self.quota_grace:
                raise RolloutFailed(f"quota exceeded: {message}")

    def wake_in(self, remaining: float) -> float:
        """How long the next watch may block: less when a quota grace period is running out."""
        due = [since + self.quota_grace - time.monotonic() for since, _, _ in self.quota.values()]
        return max(0.5, min([remaining, *due]))

    def done(self, kind: str | None = None) -> bool:
        return all(ready for (k, _), (ready, _) in self.state.items() if kind in (None, k))

    def report(self) -> None:
        ready = sum(r for r, _ in self.state.values())
        waiting = [summary for r, summary in self.state.values() if not r]
        current = (ready, ", ".join(waiting) or f"all {len(self.state)} ready")
        if self.on_progress and current != self.last_report:
            self.on_progress(current[0], len(self.state), current[1])
        self.last_report = current


def _list_through_restarts(list_fn: Callable[..., Any], namespace: str, deadline: float) -> Any:
    """``list_fn(namespace)``, retried with back-off while the API server refuses or drops connections
    (for ``API_SERVER_RESTART_GRACE_SECONDS`` at most, never past ``deadline``); then its error is raised."""
    give_up = min(deadline, time.monotonic() + API_SERVER_RESTART_GRACE_SECONDS)
    delay = 0.2
    while True:
        try:
            return list_fn(namespace, _request_timeout=30)
        except ApiException as exc:
            if exc.status != 503 or time.monotonic() + delay > give_up:  # 503: up, not serving yet
                raise
        except (MaxRetryError, ProtocolError):
            if time.monotonic() + delay > give_up:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 2.0)


def _follow(list_fn: Callable[..., Any], kind: str, names: set[str], rollout: _Rollout, namespace: str,
            deadline: float) -> bool:
    """List, then watch from the list's resourceVersion, until ``kind`` is done (True) or the deadline."""
    while (remaining := deadline - time.monotonic()) > 0:
        listing = _list_through_restarts(list_fn, namespace, deadline)
        present = {o.metadata.name: o for o in listing.items}
        for name in names:
            rollout.update(kind, name, present.get(name))
        rollout.report()
        rollout.check_quota()
        if rollout.done(kind):
            return True
        wait = rollout.wake_in(remaining)
        watch_ends = time.monotonic() + wait
        w = watch.Watch()
        try:
            for event in w.stream(list_fn, namespace, resource_version=listing.metadata.resource_version,
                                  timeout_seconds=math.ceil(wait), _request_timeout=(10, wait + 30)):
                obj = event["object"]
                if event["type"] not in {"ADDED", "MODIFIED", "DELETED"} or obj.metadata.name not in names:
                    continue
                rollout.update(kind, obj.metadata.name, None if event["type"] == "DELETED" else obj)
                rollout.report()
                rollout.check_quota()
                if rollout.done(kind):
                    w.stop()
                    return True
                if time.monotonic() + rollout.wake_in(remaining) < watch_ends - 1:
                    w.stop()  # a quota grace period started: wake up in time to enforce it
        except ApiException as exc:
            if exc.status != 410:  # 410 Gone: our resourceVersion is too old; list again
                raise
        except (ProtocolError, ReadTimeoutError):
            pass  # the connection dropped: list again
    return False


def wait_ready(api: client.ApiClient, *, namespace: str, deployments: Sequence[str], statefulsets: Sequence[str] = (),
               timeout: float, on_progress: ProgressCallback | None = None, quota_grace: float = 10.0) -> None:
    """Return once every named Deployment and StatefulSet has completely rolled out.

    Deployments: observedGeneration caught up, and replicas == updated == ready == available ==
    spec.replicas (so no old pods remain). StatefulSets: all replicas ready on the update revision.
    Watches (no polling); ``on_progress(ready, total, message)`` is called whenever the summary
    changes. Raises RolloutFailed with ``failure_reason`` after ``timeout`` seconds, and earlier
    when a Deployment hits its progress deadline or stays blocked by "exceeded quota" for
    ``quota_grace`` seconds without progress. Read-only and safe to repeat.
    """
    started = time.monotonic()
    deadline = started + timeout
    apps = client.AppsV1Api(api)
    rollout = _Rollout(deployments, statefulsets, on_progress, quota_grace)
    try:
        for list_fn, kind, names in ((apps.list_namespaced_deployment, "Deployment", deployments),
                                     (apps.list_namespaced_stateful_set, "StatefulSet", statefulsets)):
            if names and not _follow(list_fn, kind, set(names), rollout, namespace, deadline):
                break
    except _Stalled:
        raise RolloutFailed(failure_reason(api, namespace, deployments, statefulsets,
                                           waited=time.monotonic() - started)) from None
    if not rollout.done():
        raise RolloutFailed(failure_reason(api, namespace, deployments, statefulsets, waited=timeout))


def _when(event: Any) -> datetime:
    stamp = event.last_timestamp or event.event_time or (event.metadata and event.metadata.creation_timestamp)
    return stamp or datetime.min.replace(tzinfo=UTC)


def _container_statuses(pod: client.V1Pod) -> Iterable[tuple[client.V1Pod, Any]]:
    status = pod.status or client.V1PodStatus()
    for cs in (status.init_container_statuses or []) + (status.container_statuses or []):
        yield pod, cs


def explain_failure(*, events: Iterable[Any], pods: Iterable[client.V1Pod], progress: str,
                    waited: float | None = None) -> str:
    """The most useful explanation of a stuck rollout, from already-fetched events and pods.

    Pure function. Checks, in order: image pull failures and crash loops (the pods' current
    state), "exceeded quota" FailedCreate events, unschedulable pods, other FailedCreate events;
    otherwise "not ready after Ns: <progress>".
    """
    pods = sorted(pods, key=lambda p: p.metadata.name)
    warnings = sorted((e for e in events if e.type == "Warning"), key=_when, reverse=True)
    statuses = [(p, cs) for pod in pods for p, cs in _container_statuses(pod)]
    for pod, cs in statuses:
        waiting = cs.state and cs.state.waiting
        if waiting and waiting.reason in IMAGE_PULL_REASONS:
            return (f"image pull failed: {pod.metadata.name}/{cs.name} ({cs.image}): {waiting.reason}"
                    + (f": {waiting.message}" if waiting.message else ""))
    for pod, cs in statuses:
        waiting = cs.state and cs.state.waiting
        if waiting and waiting.reason == "CrashLoopBackOff":
            last = cs.last_state and cs.last_state.terminated
            exit_info = f", last exit code {last.exit_code} ({last.reason})" if last else ""
            return (f"crash loop: {pod.metadata.name}/{cs.name} restarted {cs.restart_count or 0} times{exit_info}"
                    + (f": {waiting.message}" if waiting.message else ""))
    for event in warnings:
        if event.reason == "FailedCreate" and "exceeded quota" in (event.message or ""):
            return f"quota exceeded: {event.message}"
    for pod in pods:
        for c in (pod.status and pod.status.conditions) or []:
            if c.type == "PodScheduled" and c.status == "False" and c.reason == "Unschedulable":
                return f"unschedulable: {pod.metadata.name}: {c.message}"
    for event in warnings:
        if event.reason == "FailedCreate":
            return f"pod creation failed: {event.message}"
    return f"not ready after {waited:.0f}s: {progress}" if waited is not None else f"not ready: {progress}"


def failure_reason(api: client.ApiClient, namespace: str, deployments: Sequence[str], statefulsets: Sequence[str] = (),
                   *, waited: float | None = None) -> str:
    """Explain why the named workloads are not ready (see ``explain_failure``). Read-only."""
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    wanted_d, wanted_s = set(deployments), set(statefulsets)
    replica_sets = {rs.metadata.name for rs in apps.list_namespaced_replica_set(namespace).items
                    if any(o.kind == "Deployment" and o.name in wanted_d for o in rs.metadata.owner_references or [])}
    owners = {("ReplicaSet", n) for n in replica_sets} | {("StatefulSet", n) for n in wanted_s}
    pods = [p for p in core.list_namespaced_pod(namespace).items
            if any((o.kind, o.name) in owners for o in p.metadata.owner_references or [])]
    involved = wanted_d | wanted_s | replica_sets | {p.metadata.name for p in pods}
    events = [e for e in core.list_namespaced_event(namespace, field_selector="type=Warning").items
              if e.involved_object and e.involved_object.name in involved]
    summaries = {d.metadata.name: deployment_ready(d)[1] for d in apps.list_namespaced_deployment(namespace).items
                 if d.metadata.name in wanted_d}
    summaries |= {s.metadata.name: statefulset_ready(s)[1] for s in apps.list_namespaced_stateful_set(namespace).items
                  if s.metadata.name in wanted_s}
    progress = ", ".join(summaries.get(n, f"{n} not found") for n in [*deployments, *statefulsets])
    return explain_failure(events=events, pods=pods, progress=progress, waited=waited)


def wait_quotas_enforced(api: client.ApiClient, *, namespace: str, names: Sequence[str], timeout: float = 30) -> None:
    """Wait (by watching) until the quota controller has computed each ResourceQuota's status.

    Quota admission reads quotas through an informer: pods created right after a new quota can slip
    through unenforced. Workloads are applied only after this returns. Raises RolloutFailed on timeout.
    """
    pending = set(names)
    if not pending:
        return
    core = client.CoreV1Api(api)
    listing = core.list_namespaced_resource_quota(namespace)
    pending -= {q.metadata.name for q in listing.items if (q.status and q.status.hard)}
    stream = watch.Watch()
    deadline = time.monotonic() + timeout
    try:
        while pending and time.monotonic() < deadline:
            for event in stream.stream(core.list_namespaced_resource_quota, namespace,
                                       resource_version=listing.metadata.resource_version,
                                       timeout_seconds=max(1, math.ceil(deadline - time.monotonic()))):
                quota = event["object"]
                if quota.status and quota.status.hard:
                    pending.discard(quota.metadata.name)
                if not pending:
                    break
    except (ApiException, ProtocolError, ReadTimeoutError):
        pending -= {q.metadata.name for q in core.list_namespaced_resource_quota(namespace).items
                    if q.status and q.status.hard}
    finally:
        stream.stop()
    if pending:
        raise RolloutFailed(f"quota not enforced after {timeout:.0f}s: {', '.join(sorted(pending))}")
