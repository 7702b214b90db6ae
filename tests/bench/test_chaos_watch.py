"""The chaos benchmark's independent measurement (bench/chaos_watch.py): recovery from kubectl's events.

The analysis is checked on recorded event sequences; the reader on the real `kubectl get -w` of the
stack's control plane, with a pod deleted under it.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from bench.chaos_scenarios import percentile
from bench.chaos_watch import KubectlWatch, WatchEvent, pod_kill_recovery, ready_pods
from tests.fixtures.stack import stack_up


def pod(name: str, *, ready: bool = True, terminating: bool = False) -> dict:
    metadata = {"name": name, **({"deletionTimestamp": "2026-12-05T06:00:00Z"} if terminating else {})}
    return {"metadata": metadata, "status": {"conditions": [{"type": "Ready", "status": str(ready)}]}}


def event(at: float, type_: str, name: str, **state) -> WatchEvent:
    return WatchEvent(at=at, type=type_, obj=pod(name, **state))


STEADY = [event(0.0, "ADDED", "api-a"), event(0.0, "ADDED", "api-b")]


def test_recovery_runs_from_the_kill_to_the_replacement_ready():
    events = [*STEADY,
              event(10.0, "MODIFIED", "api-a", terminating=True),
              event(10.1, "DELETED", "api-a", terminating=True),
              event(10.2, "ADDED", "api-c", ready=False),
              event(10.9, "MODIFIED", "api-c", ready=False),
              event(11.5, "MODIFIED", "api-c")]
    recovery = pod_kill_recovery(events, after=5.0)
    assert recovery.killed == ["api-a"]
    assert (recovery.lost_at, recovery.recovered_at) == (10.0, 11.5)
    assert recovery.seconds == pytest.approx(1.5)


def test_a_kill_seen_only_as_deleted_counts_and_several_kills_wait_for_every_replacement():
    events = [*STEADY,
              event(3.0, "DELETED", "api-a"),
              event(3.1, "DELETED", "api-b"),
              event(3.2, "ADDED", "api-c"),  # one replacement ready: not yet as many as before
              event(4.0, "ADDED", "api-d", ready=False),
              event(4.5, "MODIFIED", "api-d")]
    recovery = pod_kill_recovery(events, after=1.0)
    assert recovery.killed == ["api-a", "api-b"]
    assert (recovery.lost_at, recovery.recovered_at) == (3.0, 4.5)


def test_only_kills_after_the_start_count_and_an_unrecovered_kill_has_no_end():
    earlier = [*STEADY, event(1.0, "DELETED", "api-a"), event(1.5, "ADDED", "api-c")]
    assert pod_kill_recovery(earlier, after=2.0) is None
    recovery = pod_kill_recovery([*earlier, event(6.0, "DELETED", "api-b")], after=2.0)
    assert recovery.killed == ["api-b"] and recovery.recovered_at is None and recovery.seconds is None


def test_ready_pods_ignore_terminating_and_unready_pods():
    events = [*STEADY, event(1.0, "ADDED", "api-c", ready=False), event(2.0, "MODIFIED", "api-b", terminating=True)]
    assert ready_pods(events) == {"api-a"}
    assert ready_pods(events, until=1.5) == {"api-a", "api-b"}


def test_percentile_is_nearest_rank():
    values = [float(n) for n in range(1, 11)]
    assert (percentile(values, 50), percentile(values, 95), percentile([0.3], 95)) == (5.0, 10.0, 0.3)


@pytest.mark.integration
def test_the_watch_stamps_a_deleted_pod_and_its_replacement(kube_namespace):
    facts = stack_up("kube")

    def kubectl(*args: str) -> None:
        subprocess.run([facts["KUBECTL"], "-n", kube_namespace, *args], env={"KUBECONFIG": facts["KUBECONFIG"]},
                       check=True, capture_output=True)

    def recovered(events: list[WatchEvent]) -> bool:
        recovery = pod_kill_recovery(events, after=before)
        return recovery is not None and recovery.recovered_at is not None

    kubectl("create", "deployment", "api", "--image=registry.example.com/api", "--replicas=2")
    watch = KubectlWatch(facts, "pods", kube_namespace, selector="app=api")
    try:
        watch.wait_state(lambda events: len(ready_pods(events)) == 2, timeout=60, what="2 ready pods")
        victim = sorted(ready_pods(watch.snapshot()))[0]
        before = time.time()
        kubectl("delete", "pod", victim, "--wait=false")
        watch.wait_state(recovered, timeout=60, what="the replacement ready")
    finally:
        watch.stop()
    recovery = pod_kill_recovery(watch.snapshot(), after=before)
    assert recovery.killed == [victim]
    assert before < recovery.lost_at <= recovery.recovered_at
    assert victim not in ready_pods(watch.snapshot()) and len(ready_pods(watch.snapshot())) == 2
