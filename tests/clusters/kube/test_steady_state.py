"""RecoveryWatch against the stack's real control plane: what the watches saw, in what order."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clusters.kube.chaos_faults import pods_delete, statefulset_scale
from clusters.kube.pods import pods_list
from clusters.kube.steady_state import Observation, RecoveryWatch, steady_state

from .conftest import SELECTOR, component_create, eventually

pytestmark = pytest.mark.integration


def ready(api, namespace):
    eventually(lambda: steady_state(api, namespace, selector=SELECTOR).holds, what="steady state")


def first(events: list[Observation], text: str) -> Observation:
    return next(e for e in events if text in e.message)


def kill_one_pod_and_recover(api, namespace, **watch_options):
    component_create(api, namespace, "api", replicas=2)
    ready(api, namespace)
    victim = pods_list(api, namespace, selector=SELECTOR)[0].metadata.name
    seen: list[Observation] = []
    with RecoveryWatch(api, namespace, selector=SELECTOR, on_event=seen.append, **watch_options) as watch:
        if watch_options:  # the server has closed every kind's watch at least once before the fault
            eventually(lambda: watch.rewatches >= 5, what="watches closed by the server", timeout=30)
        injected = watch.mark_injected()
        assert pods_delete(api, namespace, [victim]) == [victim]
        recovery = watch.wait_recovered(timeout=90)
        rewatches = watch.rewatches
    return victim, injected, recovery, seen, rewatches


def assert_recovery_follows_the_replacement(victim, injected, recovery, seen):
    assert recovery.injected_at == injected and not recovery.stopped
    assert recovery.recovered_at is not None, [e.message for e in recovery.events]
    assert seen == recovery.events  # on_event got every observation, in order
    deleted = first(recovery.events, f"pod {victim} deleted")
    replacement = next(e for e in recovery.events if e.message.startswith("pod ") and " ready on " in e.message
                       and victim not in e.message)
    assert injected <= deleted.at <= replacement.at <= recovery.recovered_at
    assert recovery.lost_at is not None and injected <= recovery.lost_at <= recovery.recovered_at
    assert recovery.unavailable == {"api": 0.0}  # the other replica kept serving
    assert recovery.window_seconds == (recovery.recovered_at - injected).total_seconds()
    assert [e.at for e in recovery.events] == sorted(e.at for e in recovery.events)


def test_a_killed_pod_recovers_after_its_replacement_is_ready(kube_client, kube_namespace):
    victim, injected, recovery, seen, _ = kill_one_pod_and_recover(kube_client, kube_namespace)
    assert_recovery_follows_the_replacement(victim, injected, recovery, seen)


def test_a_watch_the_server_closes_does_not_lose_the_recovery(kube_client, kube_namespace):
    victim, injected, recovery, seen, rewatches = kill_one_pod_and_recover(kube_client, kube_namespace,
                                                                           watch_seconds=1)
    assert rewatches >= 5
    assert_recovery_follows_the_replacement(victim, injected, recovery, seen)


def test_a_statefulset_scaled_to_zero_leaves_its_service_unavailable(kube_client, kube_namespace):
    component_create(kube_client, kube_namespace, "db", kind="StatefulSet", replicas=1)
    ready(kube_client, kube_namespace)
    with RecoveryWatch(kube_client, kube_namespace, selector=SELECTOR) as watch:
        injected = watch.mark_injected()
        assert statefulset_scale(kube_client, kube_namespace, "db", 0) == 1
        eventually(lambda: not steady_state(kube_client, kube_namespace, selector=SELECTOR).holds, what="db down")
        undone = watch.clock.now()
        statefulset_scale(kube_client, kube_namespace, "db", 1)
        recovery = watch.wait_recovered(timeout=90, not_before=undone)
    assert recovery.lost_at is not None and recovery.recovered_at is not None
    assert injected < recovery.lost_at < undone <= recovery.recovered_at
    assert 0 < recovery.unavailable["db"] <= recovery.window_seconds
    assert first(recovery.events, "steady state lost").message.endswith("service db has no ready endpoint")
    assert first(recovery.events, "steady state holds again").at <= recovery.recovered_at


def test_not_before_holds_back_a_recovery_that_came_before_the_undo(kube_client, kube_namespace):
    component_create(kube_client, kube_namespace, "db", kind="StatefulSet", replicas=1)
    ready(kube_client, kube_namespace)
    with RecoveryWatch(kube_client, kube_namespace, selector=SELECTOR, settle_seconds=1) as watch:
        injected = watch.mark_injected()
        statefulset_scale(kube_client, kube_namespace, "db", 0)
        eventually(lambda: not steady_state(kube_client, kube_namespace, selector=SELECTOR).holds, what="db down")
        statefulset_scale(kube_client, kube_namespace, "db", 1)
        ready(kube_client, kube_namespace)
        not_before = watch.clock.now() + timedelta(seconds=2)
        recovery = watch.wait_recovered(timeout=90, not_before=not_before)
    assert recovery.recovered_at == not_before
    assert injected < recovery.lost_at < not_before


def test_a_steady_state_never_lost_recovers_at_once(kube_client, kube_namespace):
    component_create(kube_client, kube_namespace, "api", replicas=1)
    ready(kube_client, kube_namespace)
    with RecoveryWatch(kube_client, kube_namespace, selector=SELECTOR, settle_seconds=1) as watch:
        injected = watch.mark_injected()
        recovery = watch.wait_recovered(timeout=60)
    assert recovery.lost_at is None and recovery.recovered_at == injected
    assert recovery.recovery_seconds == 0 and recovery.unavailable == {"api": 0.0}
    assert first(recovery.events, "never lost")


def test_stop_ends_the_wait_early(kube_client, kube_namespace):
    component_create(kube_client, kube_namespace, "db", kind="StatefulSet", replicas=1)
    ready(kube_client, kube_namespace)
    with RecoveryWatch(kube_client, kube_namespace, selector=SELECTOR) as watch:
        watch.mark_injected()
        statefulset_scale(kube_client, kube_namespace, "db", 0)
        eventually(lambda: not steady_state(kube_client, kube_namespace, selector=SELECTOR).holds, what="db down")
        recovery = watch.wait_recovered(timeout=600, stop=lambda: True)
    assert recovery.stopped and recovery.recovered_at is None
    assert first(recovery.events, "stopped before the steady state held again")
    assert not watch.watching  # the threads were stopped on exit
