"""The blast radius: pod kills are reduced to it, whole-component faults skipped beyond it (pure, no cluster)."""

import random

import pytest

from environments.chaos.targets import PodState, node_to_fail, pods_to_kill, whole_component

ready = [PodState(f"api-{i}", True, node=f"node-{i % 2}") for i in range(4)]


@pytest.mark.parametrize(("fault", "percent", "max_down", "pods", "expected"), [
    ("pod-kill", 50, 100, ready, 1),
    ("pod-kill-percent", 50, 100, ready, 2),
    ("pod-kill-percent", 10, 100, ready, 1),  # at least one
    ("pod-kill-all", 50, 100, ready, 4),
    ("pod-kill-all", 50, 50, ready, 2),  # reduced to floor(4 × 50 %)
    ("pod-kill-percent", 75, 50, ready[:3] + [PodState("api-3", False)], 1),  # one already down: 2 − 1
])
def test_pod_kills_are_reduced_to_the_blast_radius(fault, percent, max_down, pods, expected):
    names, reason = pods_to_kill(pods, fault=fault, percent=percent, desired=4, max_down_percent=max_down,
                                 rng=random.Random(1))
    assert (len(names), reason) == (expected, "")
    assert set(names) <= {p.name for p in pods if p.ready}


def test_nothing_left_within_the_radius_skips():
    pods = ready[:2] + [PodState("api-2", False), PodState("api-3", False)]
    names, reason = pods_to_kill(pods, fault="pod-kill", percent=50, desired=4, max_down_percent=50,
                                 rng=random.Random(1))
    assert names == [] and reason.startswith("blast radius") and "2 of 4 pods already not ready" in reason
    # A one-replica component can be hit only with 100 %.
    names, reason = pods_to_kill(ready[:1], fault="pod-kill", percent=50, desired=1, max_down_percent=99,
                                 rng=random.Random(1))
    assert names == [] and reason.startswith("blast radius")


def test_node_failure_picks_a_node_within_the_radius():
    pods = ready + [PodState("api-4", True, node="node-9")]  # node-0 and node-1 host 2 each, node-9 one
    for seed in range(10):
        node, reason = node_to_fail(pods, desired=5, max_down_percent=20, rng=random.Random(seed))
        assert (node, reason) == ("node-9", "")
    node, reason = node_to_fail(ready, desired=4, max_down_percent=25, rng=random.Random(1))
    assert node == "" and reason.startswith("blast radius")


def test_a_whole_component_fault_needs_the_whole_radius():
    assert whole_component(ready, desired=4, max_down_percent=100) == ""
    assert whole_component(ready, desired=4, max_down_percent=75).startswith("blast radius")
