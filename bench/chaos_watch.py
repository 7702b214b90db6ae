"""The chaos benchmark's independent observer: `kubectl get <kind> -w --output-watch-events -o json`
in a separate process, each event stamped with the wall-clock time its last line was received.

Nothing here uses Slipway's code: the figures it gives are the baseline Slipway's own measurement
(clusters.kube.steady_state.RecoveryWatch) is compared with. The analysis functions are pure, over a
list of ``WatchEvent`` (tests/bench/test_chaos_watch.py feeds them recorded sequences).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class WatchEvent:
    at: float  # time.time() when kubectl's line completing this event was read
    type: str  # ADDED | MODIFIED | DELETED
    obj: dict

    @property
    def name(self) -> str:
        return self.obj["metadata"]["name"]


def pod_ready(obj: dict) -> bool:
    """A pod that counts for service: Ready condition True and not being deleted."""
    if obj["metadata"].get("deletionTimestamp"):
        return False
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def ready_pods(events: list[WatchEvent], *, until: float | None = None) -> set[str]:
    """The pods that are ready after replaying ``events`` (up to time ``until``)."""
    ready: set[str] = set()
    for event in events:
        if until is not None and event.at > until:
            break
        if event.type != "DELETED" and pod_ready(event.obj):
            ready.add(event.name)
        else:
            ready.discard(event.name)
    return ready


@dataclass(frozen=True)
class PodKillRecovery:
    killed: list[str]  # pods seen terminating or deleted first
    lost_at: float  # the first killed pod seen terminating / deleted
    recovered_at: float | None  # as many ready pods as before the kill again (None: not within the events)

    @property
    def seconds(self) -> float | None:
        return None if self.recovered_at is None else self.recovered_at - self.lost_at


def pod_kill_recovery(events: list[WatchEvent], *, after: float) -> PodKillRecovery | None:
    """The recovery of the first pod kill at or after time ``after``, as kubectl saw it.

    Starts at the first event after ``after`` that shows a pod deleted or terminating (deletionTimestamp
    set); ends at the first later event after which as many pods are ready as just before that one.
    With one pod killed this is "the replacement pod's Ready"; with several it waits for all of them.
    None when no pod was killed after ``after``.
    """
    before = [e for e in events if e.at < after]
    ready = ready_pods(before)
    killed: list[str] = []
    lost_at = None
    for event in events[len(before):]:
        gone = event.type == "DELETED" or bool(event.obj["metadata"].get("deletionTimestamp"))
        if gone and lost_at is None and event.name in ready:
            lost_at, wanted = event.at, len(ready)
        if gone and event.name in ready and event.name not in killed and lost_at is not None:
            killed.append(event.name)
        if event.type != "DELETED" and pod_ready(event.obj):
            ready.add(event.name)
        else:
            ready.discard(event.name)
        if lost_at is not None and len(ready) >= wanted:
            return PodKillRecovery(killed=killed, lost_at=lost_at, recovered_at=event.at)
    return None if lost_at is None else PodKillRecovery(killed=killed, lost_at=lost_at, recovered_at=None)


class KubectlWatch:
    """`kubectl get <kind> -w --output-watch-events -o json` in a separate process.

    kubectl prints each event as a JSON object (one line each when its output is a pipe); the reader
    thread stamps the event with the time the line completing it arrived. ``wait_for`` blocks until a
    predicate over one event holds (looking at every event from index ``since`` on).
    """

    def __init__(self, kube: dict[str, str], kind: str, namespace: str, *, selector: str = "") -> None:
        env = {**os.environ, "KUBECONFIG": kube["KUBECONFIG"]}
        if kube.get("KUBECACHEDIR"):
            env["KUBECACHEDIR"] = kube["KUBECACHEDIR"]
        command = [kube["KUBECTL"], "get", kind, "-n", namespace, "-w", "--output-watch-events", "-o", "json"]
        if selector:
            command += ["-l", selector]
        self.events: list[WatchEvent] = []
        self.changed = threading.Condition()
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        lines: list[bytes] = []
        for raw in self.proc.stdout:
            lines.append(raw)
            if not raw.rstrip(b"\r\n").endswith(b"}"):  # one object per line, or indented over several
                continue
            at = time.time()
            try:
                data = json.loads(b"".join(lines))
            except ValueError:
                continue  # a "}" inside an indented object: read on
            lines = []
            with self.changed:
                self.events.append(WatchEvent(at=at, type=data["type"], obj=data["object"]))
                self.changed.notify_all()

    def mark(self) -> int:
        """The index the next event will have (for ``wait_for(since=...)``)."""
        with self.changed:
            return len(self.events)

    def snapshot(self) -> list[WatchEvent]:
        with self.changed:
            return list(self.events)

    def wait_for(self, predicate: Callable[[WatchEvent], bool], *, since: int = 0, timeout: float,
                 what: str) -> WatchEvent:
        """The first event from index ``since`` on for which ``predicate`` holds; RuntimeError on timeout."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for event in self.events[since:]:
                    if predicate(event):
                        return event
                since = len(self.events)
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise RuntimeError(f"kubectl watch: no {what} within {timeout:.0f}s")
                self.changed.wait(min(left, 1.0))

    def wait_state(self, predicate: Callable[[list[WatchEvent]], bool], *, timeout: float, what: str) -> None:
        """Block until ``predicate`` holds over every event received so far (a state, not one event)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate(self.events):
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise RuntimeError(f"kubectl watch: {what} not reached within {timeout:.0f}s")
                self.changed.wait(min(left, 1.0))

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.thread.join(timeout=5)
