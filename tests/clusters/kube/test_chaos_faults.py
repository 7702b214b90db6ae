"""Chaos faults against the stack's real control plane (kube-apiserver, controllers, kwok nodes)."""

from __future__ import annotations

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from clusters.kube.apply import prune
from clusters.kube.chaos_faults import (
    CHAOS_OBJECT,
    network_cut,
    network_policy_delete,
    pods_delete,
    statefulset_scale,
)
from clusters.kube.live_diff import detect_drift
from clusters.kube.pods import pods_list
from clusters.kube.steady_state import pod_ready, steady_state

from .conftest import SELECTOR, component_create, eventually, labels

pytestmark = pytest.mark.integration


def test_pods_delete_kills_the_named_pods_and_ignores_ones_already_gone(kube_client, kube_namespace):
    component_create(kube_client, kube_namespace, "api", replicas=2)
    pods = eventually(lambda: [p for p in pods_list(kube_client, kube_namespace, selector=SELECTOR) if pod_ready(p)]
                      if steady_state(kube_client, kube_namespace, selector=SELECTOR).holds else None,
                      what="api ready")
    victim = pods[0].metadata.name

    assert pods_delete(kube_client, kube_namespace, [victim, "api-never-existed"]) == [victim]
    assert pods_delete(kube_client, kube_namespace, [victim]) == []  # idempotent: already gone
    names = {p.metadata.name for p in pods_list(kube_client, kube_namespace, selector=SELECTOR)}
    assert victim not in names
    # The ReplicaSet replaces it and the steady state comes back.
    eventually(lambda: steady_state(kube_client, kube_namespace, selector=SELECTOR).holds, what="api back")


def test_statefulset_scale_returns_the_previous_count_and_the_service_loses_its_endpoints(kube_client,
                                                                                         kube_namespace):
    component_create(kube_client, kube_namespace, "db", kind="StatefulSet", replicas=1)
    eventually(lambda: steady_state(kube_client, kube_namespace, selector=SELECTOR).holds, what="db ready")

    assert statefulset_scale(kube_client, kube_namespace, "db", 0) == 1
    assert statefulset_scale(kube_client, kube_namespace, "db", 0) == 0  # idempotent
    lost = eventually(lambda: (s := steady_state(kube_client, kube_namespace, selector=SELECTOR)).problems and s,
                      what="db without endpoints")
    assert lost.holds is False
    assert lost.problems == ["service db has no ready endpoint"]  # 0/0 replicas is what the spec asks

    assert statefulset_scale(kube_client, kube_namespace, "db", 1) == 0
    eventually(lambda: steady_state(kube_client, kube_namespace, selector=SELECTOR).holds, what="db back")
    with pytest.raises(ValueError, match="cannot scale db to -1"):
        statefulset_scale(kube_client, kube_namespace, "db", -1)


def test_steady_state_names_the_workload_short_of_ready_replicas(kube_client, kube_namespace):
    component_create(kube_client, kube_namespace, "api", replicas=2)
    eventually(lambda: steady_state(kube_client, kube_namespace, selector=SELECTOR).holds, what="api ready")
    # Two replicas more than the (fake) nodes can ever run: the pods stay Pending.
    k8s.AppsV1Api(kube_client).patch_namespaced_deployment("api", kube_namespace, {"spec": {
        "replicas": 3, "template": {"spec": {"nodeSelector": {"slipway.test/no-such-node": "true"}}}}})
    state = eventually(lambda: (s := steady_state(kube_client, kube_namespace, selector=SELECTOR)).problems and s,
                       what="api short of replicas")
    assert state.problems[0].startswith("api ") and state.problems[0].endswith("/3 ready")
    with pytest.raises(ValueError, match="needs a label selector"):
        steady_state(kube_client, kube_namespace, selector=" ")


def test_network_cut_is_a_deny_all_policy_that_rollouts_neither_prune_nor_report(kube_client, kube_namespace):
    component_create(kube_client, kube_namespace, "api", replicas=1)
    networking = k8s.NetworkingV1Api(kube_client)

    network_cut(kube_client, kube_namespace, name="chaos-cut-api", pod_selector=labels("api"))
    network_cut(kube_client, kube_namespace, name="chaos-cut-api", pod_selector=labels("api"))  # idempotent
    policy = networking.read_namespaced_network_policy("chaos-cut-api", kube_namespace)
    assert policy.spec.policy_types == ["Ingress", "Egress"]
    assert not policy.spec.ingress and not policy.spec.egress
    assert policy.spec.pod_selector.match_labels == labels("api")
    assert policy.metadata.labels[CHAOS_OBJECT] == "true"

    # A rollout of the environment (which renders no such policy) neither prunes nor reports it.
    assert prune(kube_client, namespace=kube_namespace, selector=SELECTOR, keep=set()) != []  # it prunes others
    networking.read_namespaced_network_policy("chaos-cut-api", kube_namespace)
    assert detect_drift(kube_client, [], namespace=kube_namespace, selector=SELECTOR) == []

    assert network_policy_delete(kube_client, kube_namespace, "chaos-cut-api") is True
    assert network_policy_delete(kube_client, kube_namespace, "chaos-cut-api") is False
    with pytest.raises(ApiException) as gone:
        networking.read_namespaced_network_policy("chaos-cut-api", kube_namespace)
    assert gone.value.status == 404
    with pytest.raises(ValueError, match="needs a pod selector"):
        network_cut(kube_client, kube_namespace, name="chaos-cut-all", pod_selector={})


def test_network_policy_delete_refuses_a_policy_that_is_not_a_chaos_object(kube_client, kube_namespace):
    networking = k8s.NetworkingV1Api(kube_client)
    networking.create_namespaced_network_policy(kube_namespace, {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "allow-api", "labels": labels("api")},
        "spec": {"podSelector": {"matchLabels": labels("api")}, "policyTypes": ["Ingress"]}})
    with pytest.raises(ValueError, match="not a chaos object"):
        network_policy_delete(kube_client, kube_namespace, "allow-api")
    networking.read_namespaced_network_policy("allow-api", kube_namespace)
