"""Chaos faults against the stack's real control plane (kube-apiserver, controllers, kwok nodes)."""

from __future__ import annotations

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from clusters.kube import client as kubeclient
from clusters.kube.apply import prune
from clusters.kube.chaos_faults import (
    BAD_IMAGE_TAG,
    CHAOS_OBJECT,
    NODE_FAILED,
    network_cut,
    network_policy_delete,
    node_fail,
    node_failure_hold,
    node_ready,
    node_restore,
    pods_delete,
    statefulset_scale,
)
from clusters.kube.live_diff import detect_drift
from clusters.kube.pods import pods_list
from clusters.kube.rbac import CHAOS_REQUIRED, missing_permissions
from clusters.kube.steady_state import RecoveryWatch, pod_ready, steady_state
from clusters.kube.wait import RolloutFailed, wait_ready

from ..conftest import granted, stack_cluster, wait_until_rbac_sees_the_binding
from .conftest import IMAGE, SELECTOR, component_create, eventually, labels

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


def quiet_node(api) -> str:
    """The kwok node running the fewest pods: a failure there disturbs the fewest bystanders."""
    core = k8s.CoreV1Api(api)
    nodes = [n.metadata.name for n in core.list_node(label_selector="type=kwok").items if node_ready(n)]
    pods = [p.spec.node_name for p in core.list_pod_for_all_namespaces().items]
    return min(sorted(nodes), key=pods.count)


def not_ready_taints(api, node: str) -> list[str]:
    taints = k8s.CoreV1Api(api).read_node(node).spec.taints or []
    return sorted(f"{t.key}:{t.effect}" for t in taints if t.key == "node.kubernetes.io/not-ready")


def test_a_failed_node_reported_ready_by_a_late_heartbeat_is_failed_again_until_restored(chaos_plane):
    api, node = chaos_plane, quiet_node(chaos_plane)
    core = k8s.CoreV1Api(api)
    ready = {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}
    try:
        node_fail(api, node)
        assert node_failure_hold(api, node) is False  # still NotReady: nothing to do
        # What a heartbeat kwok scheduled before the node was labelled writes when it fires.
        core.patch_node_status(node, {"status": {"conditions": [ready]}})
        assert node_ready(core.read_node(node))
        assert node_failure_hold(api, node) is True
        assert not node_ready(core.read_node(node))
    finally:
        node_restore(api, node)
    assert node_failure_hold(api, node) is False  # restored: never failed again
    eventually(lambda: node_ready(core.read_node(node)) and not not_ready_taints(api, node),
               what=f"{node} Ready and untainted again")


def test_a_failed_node_is_tainted_and_its_pods_come_back_on_other_nodes(chaos_plane, kube_namespace):
    api, node = chaos_plane, quiet_node(chaos_plane)
    # Both replicas on the node to fail (preferred, so they may go elsewhere once it fails), and
    # evicted 2 s after it fails instead of the 300 s Kubernetes would add.
    tolerations = [{"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 2}
                   for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")]
    affinity = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "preference": {
        "matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}}]}}
    component_create(api, kube_namespace, "api", replicas=2, tolerations=tolerations, affinity=affinity)
    eventually(lambda: steady_state(api, kube_namespace, selector=SELECTOR).holds, what="api ready")
    victims = {p.metadata.name for p in pods_list(api, kube_namespace, selector=SELECTOR) if p.spec.node_name == node}
    assert victims, f"no api pod landed on {node}"

    try:
        with RecoveryWatch(api, kube_namespace, selector=SELECTOR) as watch:
            injected = watch.mark_injected()
            node_fail(api, node)
            node_fail(api, node)  # idempotent
            assert not node_ready(k8s.CoreV1Api(api).read_node(node))
            eventually(lambda: not_ready_taints(api, node) == ["node.kubernetes.io/not-ready:NoExecute",
                                                              "node.kubernetes.io/not-ready:NoSchedule"],
                       what=f"{node} tainted by the node lifecycle controller")
            # The pods keep running (and Ready) until their toleration runs out: only then is the
            # steady state lost, so the recovery is waited for once the eviction happened.
            eventually(lambda: not victims & {p.metadata.name for p in pods_list(api, kube_namespace,
                                                                                  selector=SELECTOR)},
                       what=f"the pods on {node} evicted")
            recovery = watch.wait_recovered(timeout=120)
        pods = pods_list(api, kube_namespace, selector=SELECTOR)
        assert not victims & {p.metadata.name for p in pods}  # evicted...
        assert len(pods) == 2 and all(pod_ready(p) and p.spec.node_name != node for p in pods)  # ...and replaced
        assert recovery.lost_at is not None and injected < recovery.lost_at < recovery.recovered_at
        evictions = [e for e in recovery.events if e.message in {f"pod {v} deleted" for v in victims}]
        assert evictions and all(e.at <= recovery.recovered_at for e in evictions)
    finally:
        node_restore(api, node)
    node_restore(api, node)  # idempotent
    eventually(lambda: node_ready(k8s.CoreV1Api(api).read_node(node)) and not not_ready_taints(api, node),
               what=f"{node} Ready and untainted again")
    assert NODE_FAILED not in (k8s.CoreV1Api(api).read_node(node).metadata.labels or {})


def test_a_bad_image_never_becomes_ready_while_the_old_replicaset_keeps_serving(chaos_plane, kube_namespace):
    api = chaos_plane
    component_create(api, kube_namespace, "api", replicas=2)
    eventually(lambda: steady_state(api, kube_namespace, selector=SELECTOR).holds, what="api ready")
    good = {p.metadata.name for p in pods_list(api, kube_namespace, selector=SELECTOR)}
    bad_image = f"{IMAGE.rsplit(':', 1)[0]}:{BAD_IMAGE_TAG}"

    k8s.AppsV1Api(api).patch_namespaced_deployment("api", kube_namespace, {"spec": {"template": {"spec": {
        "containers": [{"name": "app", "image": bad_image}]}}}})
    with pytest.raises(RolloutFailed) as failed:
        wait_ready(api, namespace=kube_namespace, deployments=["api"], timeout=10)
    assert "ErrImagePull" in failed.value.reason or "image" in failed.value.reason.lower()

    pods = pods_list(api, kube_namespace, selector=SELECTOR)
    new = [p for p in pods if p.metadata.name not in good]
    assert new and all(p.spec.containers[0].image == bad_image and not pod_ready(p) for p in new)
    assert {s.state.waiting.reason for p in new for s in p.status.container_statuses} == {"ErrImagePull"}
    # The old ReplicaSet's pods keep serving: the steady state still holds.
    assert good <= {p.metadata.name for p in pods if pod_ready(p)}
    assert steady_state(api, kube_namespace, selector=SELECTOR).holds


def test_chaos_permissions_are_checked_against_the_credential(kube_client, kubeconfig_path, restricted_token):
    assert missing_permissions(kube_client, CHAOS_REQUIRED) == []  # the stack's admin may do everything
    target = stack_cluster(kubeconfig_path)
    wait_until_rbac_sees_the_binding(target["server"], target["ca_data"], restricted_token)
    kubeconfig = kubeclient.kubeconfig_from_token(server=target["server"], ca_data=target["ca_data"],
                                                  token=restricted_token)
    with kubeclient.api_client(kubeconfig) as restricted:
        missing = missing_permissions(restricted, CHAOS_REQUIRED)
    assert missing == [p for p in CHAOS_REQUIRED if not granted(p)]
    assert "patch nodes/status" in {str(p) for p in missing} and "get nodes" not in {str(p) for p in missing}
