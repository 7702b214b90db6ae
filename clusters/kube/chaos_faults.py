"""The faults a chaos experiment injects into a cluster, and their undo, as plain API calls.

Every function is idempotent: the engine may be killed and re-run at any point, so injecting a
fault twice, or undoing one that is already undone, converges and never raises for "already so".
What to inject and when to undo it is the engine's business (environments/chaos); this module only
knows how.

Chaos objects (the deny-all NetworkPolicy) carry ``managed-by: slipway-chaos``, not ``slipway``:
the ownership selector (``owner_labels.ownership_selector``) that prune and drift detection use
requires ``managed-by=slipway``, so a rollout during an experiment neither deletes the cut nor
reports it as drift. The undo ledger deletes it by name.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from .owner_labels import MANAGED_BY

CHAOS_MANAGED_BY = "slipway-chaos"  # the value of MANAGED_BY on the objects a chaos experiment makes
CHAOS_OBJECT = "slipway.io/chaos"  # label ("true") on those objects, to find them all in a namespace
# On a Node that node_fail took down: when, so node_restore (and a person) can tell why it is NotReady.
NODE_FAILED = "slipway.io/chaos-node-failed"
BAD_IMAGE_TAG = "slipway-chaos-bad-image"  # the local plane leaves pods with this tag not Ready (kwokctl.yaml)


def _gone(exc: ApiException) -> bool:
    return exc.status == 404


def pods_delete(api: client.ApiClient, namespace: str, names: list[str], *, grace_seconds: int = 0) -> list[str]:
    """Delete the named pods; the names actually deleted, in order (pods already gone are skipped).

    ``grace_seconds=0`` is a kill, as a crashed node or an OOM would leave it. Raises API errors
    other than 404.
    """
    core = client.CoreV1Api(api)
    deleted = []
    for name in names:
        try:
            core.delete_namespaced_pod(name, namespace, grace_period_seconds=grace_seconds)
        except ApiException as exc:
            if _gone(exc):
                continue
            raise
        deleted.append(name)
    return deleted


def statefulset_scale(api: client.ApiClient, namespace: str, name: str, replicas: int) -> int:
    """Set the StatefulSet's replicas through its scale subresource; returns the replicas it had.

    Idempotent (scaling to the current count changes nothing); the returned previous count is what
    the undo ledger restores. Raises ValueError for a negative count and API errors (404 included:
    a StatefulSet that does not exist cannot be scaled back either).
    """
    if replicas < 0:
        raise ValueError(f"cannot scale {name} to {replicas} replicas")
    apps = client.AppsV1Api(api)
    previous = apps.read_namespaced_stateful_set_scale(name, namespace).spec.replicas or 0
    if previous != replicas:
        apps.patch_namespaced_stateful_set_scale(name, namespace, {"spec": {"replicas": replicas}})
    return previous


def chaos_labels(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The labels of an object a chaos experiment creates (never matched by the ownership selector)."""
    return {**(extra or {}), MANAGED_BY: CHAOS_MANAGED_BY, CHAOS_OBJECT: "true"}


def network_cut(api: client.ApiClient, namespace: str, *, name: str, pod_selector: dict[str, str]) -> None:
    """Cut the selected pods off the network: a NetworkPolicy that denies all ingress and egress.

    Creates it, or puts it back to deny-all if one of that name exists (idempotent). Raises
    ValueError for an empty ``pod_selector`` (it would cut the whole namespace) and API errors.
    Effective only where the cluster's network plugin enforces NetworkPolicy.
    """
    if not pod_selector:
        raise ValueError("a network cut needs a pod selector: an empty one would cut every pod of the namespace")
    body = client.V1NetworkPolicy(
        metadata=client.V1ObjectMeta(name=name, labels=chaos_labels(), annotations={
            f"{CHAOS_OBJECT}-injected-at": datetime.now(UTC).isoformat(timespec="seconds")}),
        # Both policy types with no rules: nothing may reach the pods and they may reach nothing.
        spec=client.V1NetworkPolicySpec(pod_selector=client.V1LabelSelector(match_labels=dict(pod_selector)),
                                        policy_types=["Ingress", "Egress"], ingress=[], egress=[]))
    networking = client.NetworkingV1Api(api)
    try:
        networking.create_namespaced_network_policy(namespace, body)
    except ApiException as exc:
        if exc.status != 409:
            raise
        # A re-run after a crash: make sure the existing one is ours and denies everything.
        networking.patch_namespaced_network_policy(name, namespace, {
            "metadata": {"labels": chaos_labels()},
            "spec": {"podSelector": {"matchLabels": dict(pod_selector)}, "policyTypes": ["Ingress", "Egress"],
                     "ingress": [], "egress": []}})


def network_policy_delete(api: client.ApiClient, namespace: str, name: str) -> bool:
    """Delete a chaos NetworkPolicy; False when it was already gone. Raises other API errors.

    Refuses (ValueError) to delete a NetworkPolicy that is not a chaos object: the environment's own
    policies are the rollout's, never the undo's.
    """
    networking = client.NetworkingV1Api(api)
    try:
        policy = networking.read_namespaced_network_policy(name, namespace)
    except ApiException as exc:
        if _gone(exc):
            return False
        raise
    if (policy.metadata.labels or {}).get(CHAOS_OBJECT) != "true":
        raise ValueError(f"NetworkPolicy {name} in {namespace} is not a chaos object; not deleting it")
    try:
        networking.delete_namespaced_network_policy(name, namespace, body=client.V1DeleteOptions(
            preconditions=client.V1Preconditions(uid=policy.metadata.uid)))
    except ApiException as exc:
        if exc.status in (404, 409):  # gone meanwhile, or replaced by another object of that name
            return False
        raise
    return True


def node_ready(node: Any) -> bool:
    """Whether the Node's Ready condition is True."""
    return any(c.type == "Ready" and c.status == "True" for c in (node.status and node.status.conditions) or [])


def _ready_condition(status: str, reason: str, message: str) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return {"type": "Ready", "status": status, "reason": reason, "message": message,
            "lastHeartbeatTime": now, "lastTransitionTime": now}


def node_fail(api: client.ApiClient, node: str) -> None:
    """Make ``node`` NotReady, as a node whose kubelet died: the control plane then does the rest.

    The node lifecycle controller taints a NotReady node (node.kubernetes.io/not-ready, NoSchedule
    and NoExecute), marks its pods not Ready, and the taint eviction controller evicts each pod once
    its toleration of that taint runs out; their ReplicaSets and StatefulSets put them back on other
    nodes. The node is labelled ``NODE_FAILED`` first: on the local plane kwok (which plays every
    node's kubelet) leaves a node so labelled alone (devstack/kwok/stages.yaml), where it would
    otherwise report it Ready again at once. A real kubelet reports its own status within seconds,
    so on a real cluster this fault does not hold. Idempotent; raises API errors (404: no such node).
    """
    core = client.CoreV1Api(api)
    current = core.read_node(node)
    labels = current.metadata.labels or {}
    if labels.get(NODE_FAILED) == "true" and not node_ready(current):
        return
    core.patch_node(node, {"metadata": {"labels": {NODE_FAILED: "true"}, "annotations": {
        f"{NODE_FAILED}-at": datetime.now(UTC).isoformat(timespec="seconds")}}})
    core.patch_node_status(node, {"status": {"conditions": [_ready_condition(
        "False", "SlipwayChaosNodeFailure", "node failed by a Slipway chaos experiment")]}})


def node_failure_hold(api: client.ApiClient, node: str) -> bool:
    """Keep a failed node NotReady while its fault lasts; True when it had to be failed again.

    On the local plane kwok may still apply a heartbeat it scheduled before the node was labelled
    failed, reporting it Ready again: the taint goes and nothing is evicted. Only a node still labelled
    failed is touched, so a restore running meanwhile wins (it removes the label; a node left NotReady
    without it is re-initialised Ready by kwok). Idempotent; raises API errors.
    """
    core = client.CoreV1Api(api)
    current = core.read_node(node)
    if (current.metadata.labels or {}).get(NODE_FAILED) != "true" or not node_ready(current):
        return False
    core.patch_node_status(node, {"status": {"conditions": [_ready_condition(
        "False", "SlipwayChaosNodeFailure", "node failed by a Slipway chaos experiment")]}})
    return True


def node_restore(api: client.ApiClient, node: str) -> None:
    """Undo ``node_fail``: the node is Ready again and the control plane lifts its taints.

    Idempotent (a node that was never failed is left as it is); raises API errors.
    """
    core = client.CoreV1Api(api)
    current = core.read_node(node)
    if NODE_FAILED not in (current.metadata.labels or {}):
        return
    # Ready first, then the label: the other order would let kwok re-initialise the node meanwhile
    # (harmless, but two writers for one condition).
    core.patch_node_status(node, {"status": {"conditions": [_ready_condition(
        "True", "KubeletReady", "kubelet is posting ready status")]}})
    core.patch_node(node, {"metadata": {"labels": {NODE_FAILED: None},
                                        "annotations": {f"{NODE_FAILED}-at": None}}})
