"""The rollout engine against the real local control plane (kube-apiserver + controllers + kwok nodes).

kwok never pulls images or runs containers, so image-pull and crash-loop explanations are tested
with constructed pod objects (data, not a mocked service); everything else happens on the cluster.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import watch
from kubernetes.client.rest import ApiException

from clusters.kube.apply import (
    PRUNABLE_KINDS,
    ApplyFailed,
    apply_manifests,
    prune,
    raise_for_errors,
)
from clusters.kube.namespace_lifecycle import NamespaceStuck, delete_namespace
from clusters.kube.objects import object_key
from clusters.kube.wait import RolloutFailed, explain_failure, failure_reason, wait_ready

pytestmark = pytest.mark.integration

IMAGE = "registry.example.invalid/slipway/web:1.0"  # never pulled: kwok runs no containers
ENV = "qa-1"
SELECTOR = f"app.kubernetes.io/managed-by=slipway,slipway.io/environment={ENV}"
HOLD = "slipway.io/test-hold"


def labels(component: str, env: str = ENV) -> dict[str, str]:
    return {"app.kubernetes.io/managed-by": "slipway", "slipway.io/environment": env,
            "app.kubernetes.io/name": component}


def meta(name: str, namespace: str, component: str = "web", **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": labels(component), **extra}


def config_map(ns: str, name: str, data: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(name, ns, **extra),
            "data": data or {"MODE": "qa"}}


def pod_spec(image: str = IMAGE, cpu: str = "100m") -> dict[str, Any]:
    return {"containers": [{"name": "app", "image": image, "ports": [{"containerPort": 8000}],
                            "resources": {"requests": {"cpu": cpu, "memory": "64Mi"},
                                          "limits": {"cpu": cpu, "memory": "64Mi"}}}]}


def deployment(ns: str, name: str = "web", *, replicas: int = 2, image: str = IMAGE, cpu: str = "100m") -> dict[str, Any]:
    selector = {"app.kubernetes.io/name": name, "slipway.io/environment": ENV}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(name, ns, name),
            "spec": {"replicas": replicas, "selector": {"matchLabels": selector},
                     "template": {"metadata": {"labels": labels(name)}, "spec": pod_spec(image, cpu)}}}


def statefulset(ns: str, name: str = "db") -> dict[str, Any]:
    selector = {"app.kubernetes.io/name": name, "slipway.io/environment": ENV}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta(name, ns, name),
            "spec": {"replicas": 1, "serviceName": name, "selector": {"matchLabels": selector},
                     "template": {"metadata": {"labels": labels(name)}, "spec": pod_spec()}}}


def service(ns: str, name: str = "web") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta(name, ns),
            "spec": {"selector": {"app.kubernetes.io/name": "web", "slipway.io/environment": ENV},
                     "ports": [{"port": 80, "targetPort": 8000}]}}


def hpa(ns: str) -> dict[str, Any]:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta("web", ns),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "minReplicas": 2, "maxReplicas": 4,
                     "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]}}


def ingress(ns: str) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta("web", ns),
            "spec": {"rules": [{"host": f"{ENV}.example.test", "http": {"paths": [{
                "path": "/", "pathType": "Prefix",
                "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}


def environment(ns: str) -> list[dict[str, Any]]:
    return [config_map(ns, "web-config"), deployment(ns), statefulset(ns), service(ns), hpa(ns), ingress(ns)]


def actions(results: list[Any]) -> dict[tuple[str, str], str]:
    return {(r.key[1], r.key[3]): r.action for r in results}


def watch_until(list_fn: Any, *, until: Any, timeout: int = 60, **kwargs: Any) -> Any:
    """Watch ``list_fn`` (current state first, then changes) until ``until(obj)`` holds."""
    w = watch.Watch()
    for event in w.stream(list_fn, timeout_seconds=timeout, **kwargs):
        if until(event["object"]):
            w.stop()
            return event["object"]
    pytest.fail(f"{list_fn.__name__}: condition not reached within {timeout}s")


def gone_or_terminating(read: Any, *args: Any) -> bool:
    try:
        return read(*args).metadata.deletion_timestamp is not None
    except ApiException as exc:
        return exc.status == 404


# --- apply ----------------------------------------------------------------------------------------


def test_apply_wait_reapply_and_update_image(kube_client: k8s.ApiClient, kube_namespace: str) -> None:
    ns, apps = kube_namespace, k8s.AppsV1Api(kube_client)
    manifests = environment(ns)

    first = apply_manifests(kube_client, manifests)
    raise_for_errors(first)
    assert actions(first) == {("ConfigMap", "web-config"): "created", ("Deployment", "web"): "created",
                              ("StatefulSet", "db"): "created", ("Service", "web"): "created",
                              ("HorizontalPodAutoscaler", "web"): "created", ("Ingress", "web"): "created"}
    assert all(r.error == "" for r in first)

    progress: list[tuple[int, int, str]] = []
    wait_ready(kube_client, namespace=ns, deployments=["web"], statefulsets=["db"], timeout=60,
               on_progress=lambda *args: progress.append(args))
    assert progress[0][0] < 2 and progress[0][1] == 2
    assert progress[-1] == (2, 2, "all 2 ready")
    web = apps.read_namespaced_deployment("web", ns)
    assert (web.status.ready_replicas, web.status.available_replicas) == (2, 2)
    assert apps.read_namespaced_stateful_set("db", ns).status.ready_replicas == 1

    # The same manifests again: nothing to do.
    assert set(actions(apply_manifests(kube_client, manifests)).values()) == {"unchanged"}

    # A new image version: only the Deployment changes, and the rollout replaces every pod.
    updated = copy.deepcopy(manifests)
    updated[1]["spec"]["template"]["spec"]["containers"][0]["image"] = IMAGE.replace(":1.0", ":1.1")
    second = actions(apply_manifests(kube_client, updated))
    assert second.pop(("Deployment", "web")) == "configured"
    assert set(second.values()) == {"unchanged"}

    wait_ready(kube_client, namespace=ns, deployments=["web"], timeout=60)
    replica_sets = apps.list_namespaced_replica_set(ns, label_selector="app.kubernetes.io/name=web").items
    by_image = {rs.spec.template.spec.containers[0].image: rs for rs in replica_sets}
    assert set(by_image) == {IMAGE, IMAGE.replace(":1.0", ":1.1")}
    new, old = by_image[IMAGE.replace(":1.0", ":1.1")], by_image[IMAGE]
    assert (new.spec.replicas, new.status.ready_replicas) == (2, 2)
    assert old.spec.replicas == 0 and not old.status.replicas
    pods = k8s.CoreV1Api(kube_client).list_namespaced_pod(ns, label_selector="app.kubernetes.io/name=web").items
    live = [p for p in pods if p.metadata.deletion_timestamp is None]
    assert {p.spec.containers[0].image for p in live} == {IMAGE.replace(":1.0", ":1.1")}


def test_apply_records_the_slipway_field_manager_and_forces_conflicts(kube_client: k8s.ApiClient,
                                                                      kube_namespace: str) -> None:
    ns, core = kube_namespace, k8s.CoreV1Api(kube_client)
    raise_for_errors(apply_manifests(kube_client, [config_map(ns, "settings", {"MODE": "a"})]))
    managers = {(m.manager, m.operation) for m in core.read_namespaced_config_map("settings", ns).metadata.managed_fields}
    assert ("slipway", "Apply") in managers

    # Someone edits a field Slipway owns: without force, apply reports the conflict and raises nothing.
    core.patch_namespaced_config_map("settings", ns, {"data": {"MODE": "hand-edited"}}, field_manager="kubectl-edit")
    desired = config_map(ns, "settings", {"MODE": "b"})
    [conflict] = apply_manifests(kube_client, [desired], force=False)
    assert conflict.action == "failed"
    assert "conflict" in conflict.error.lower() and "kubectl-edit" in conflict.error
    with pytest.raises(ApplyFailed, match="ConfigMap/settings"):
        raise_for_errors([conflict])
    # With force (the default) Slipway takes the field back: the drift is reconciled.
    [forced] = apply_manifests(kube_client, [desired])
    assert (forced.action, forced.error) == ("configured", "")
    assert core.read_namespaced_config_map("settings", ns).data == {"MODE": "b"}


def test_namespace_applies_first_and_a_bad_object_fails_alone(kube_client: k8s.ApiClient) -> None:
    extra = f"t-apply-order-{uuid.uuid4().hex[:6]}"
    manifests = [
        config_map(extra, "first-listed"),
        {"apiVersion": "widgets.example.test/v1", "kind": "Widget", "metadata": meta("w", extra)},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": extra, "labels": labels("ns")}},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta("bad", extra), "spec": {"ports": [{"port": 0}]}},
    ]
    try:
        results = apply_manifests(kube_client, manifests)
        assert [r.key[1] for r in results][:2] == ["Namespace", "ConfigMap"]
        by_kind = {r.key[1]: r for r in results}
        assert by_kind["Namespace"].action == "created" and by_kind["ConfigMap"].action == "created"
        assert by_kind["Widget"].action == "failed" and "does not serve" in by_kind["Widget"].error
        assert by_kind["Service"].action == "failed" and "port" in by_kind["Service"].error
        with pytest.raises(ApplyFailed, match="2 of 4 objects failed"):
            raise_for_errors(results)
        assert k8s.CoreV1Api(kube_client).read_namespaced_config_map("first-listed", extra).data == {"MODE": "qa"}
    finally:
        delete_namespace(kube_client, extra, timeout=60)


# --- prune ----------------------------------------------------------------------------------------


def test_prune_deletes_only_managed_objects_missing_from_the_manifests(kube_client: k8s.ApiClient,
                                                                        kube_namespace: str) -> None:
    ns, core = kube_namespace, k8s.CoreV1Api(kube_client)
    old = [config_map(ns, "keep"), config_map(ns, "dropped"), service(ns, "web"), service(ns, "legacy")]
    raise_for_errors(apply_manifests(kube_client, old))
    # Not Slipway's (no labels), and Slipway's but another environment's: never candidates.
    core.create_namespaced_config_map(ns, k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="foreign")))
    other_env = config_map(ns, "other-env")
    other_env["metadata"]["labels"] = labels("web", env="qa-2")
    raise_for_errors(apply_manifests(kube_client, [other_env]))

    current = [config_map(ns, "keep"), service(ns, "web")]
    pruned = prune(kube_client, namespace=ns, selector=SELECTOR, keep={object_key(m) for m in current},
                   kinds=PRUNABLE_KINDS)

    assert sorted(pruned) == [("v1", "ConfigMap", ns, "dropped"), ("v1", "Service", ns, "legacy")]
    assert gone_or_terminating(core.read_namespaced_config_map, "dropped", ns)
    assert gone_or_terminating(core.read_namespaced_service, "legacy", ns)
    for name in ("keep", "foreign", "other-env"):
        assert core.read_namespaced_config_map(name, ns).metadata.deletion_timestamp is None
    assert core.read_namespaced_service("web", ns).metadata.deletion_timestamp is None
    # Idempotent, and an empty selector is refused rather than matching everything.
    assert prune(kube_client, namespace=ns, selector=SELECTOR, keep={object_key(m) for m in current}) == []
    with pytest.raises(ValueError, match="selector"):
        prune(kube_client, namespace=ns, selector=" ", keep=set())


# --- wait_ready failures on the cluster -----------------------------------------------------------


def test_quota_too_small_fails_fast_with_the_quota_message(kube_client: k8s.ApiClient, kube_namespace: str) -> None:
    ns = kube_namespace
    quota = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": meta("compute", ns),
             "spec": {"hard": {"requests.cpu": "250m", "limits.cpu": "250m"}}}
    # Three 100m pods do not fit in 250m. The quota must be in the admission plugin's cache before
    # the pods are created (an informer lags under load), so wait for the quota controller's status.
    raise_for_errors(apply_manifests(kube_client, [quota]))
    core = k8s.CoreV1Api(kube_client)
    deadline = time.monotonic() + 30
    while not (core.read_namespaced_resource_quota("compute", ns).status.hard or {}) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)
    raise_for_errors(apply_manifests(kube_client, [deployment(ns, replicas=3)]))

    timeout = 90
    started = time.monotonic()
    with pytest.raises(RolloutFailed) as failed:
        wait_ready(kube_client, namespace=ns, deployments=["web"], timeout=timeout)

    assert failed.value.reason.startswith("quota exceeded: ")
    assert "exceeded quota: compute" in failed.value.reason
    assert str(failed.value) == failed.value.reason
    # Fails on the ReplicaSet's quota failure, not at the (generous) timeout.
    assert time.monotonic() - started < timeout - 10
    # The standalone explanation finds the same cause in the ReplicaSet's FailedCreate events.
    assert "exceeded quota: compute" in failure_reason(kube_client, ns, ["web"])


def test_unschedulable_pod_is_explained(kube_client: k8s.ApiClient, kube_namespace: str) -> None:
    ns = kube_namespace
    raise_for_errors(apply_manifests(kube_client, [deployment(ns, "huge", replicas=1, cpu="100")]))

    with pytest.raises(RolloutFailed) as failed:
        wait_ready(kube_client, namespace=ns, deployments=["huge"], timeout=6)

    reason = failed.value.reason
    assert reason.startswith("unschedulable: huge-")
    assert "Insufficient cpu" in reason and "0/3 nodes are available" in reason


def test_progress_deadline_fails_before_the_timeout(kube_client: k8s.ApiClient, kube_namespace: str) -> None:
    stalled = deployment(kube_namespace, "huge", replicas=1, cpu="100")
    stalled["spec"]["progressDeadlineSeconds"] = 2
    raise_for_errors(apply_manifests(kube_client, [stalled]))

    timeout = 90
    started = time.monotonic()
    with pytest.raises(RolloutFailed) as failed:
        wait_ready(kube_client, namespace=kube_namespace, deployments=["huge"], timeout=timeout)

    assert time.monotonic() - started < timeout - 10  # the controller's verdict, not our timeout
    assert failed.value.reason.startswith("unschedulable: huge-")


def test_missing_workload_times_out_with_progress_summary(kube_client: k8s.ApiClient, kube_namespace: str) -> None:
    raise_for_errors(apply_manifests(kube_client, [deployment(kube_namespace, "web", replicas=1)]))
    with pytest.raises(RolloutFailed) as failed:
        wait_ready(kube_client, namespace=kube_namespace, deployments=["web", "ghost"], timeout=4)
    assert failed.value.reason == "not ready after 4s: web 1/1 ready, ghost not found"


# --- failure explanations from constructed objects (kwok cannot produce these) --------------------


def make_pod(name: str, waiting_reason: str, message: str = "", **status: Any) -> k8s.V1Pod:
    state = k8s.V1ContainerState(waiting=k8s.V1ContainerStateWaiting(reason=waiting_reason, message=message or None))
    container = k8s.V1ContainerStatus(name="app", image=IMAGE, image_id="", ready=False, state=state,
                                      **{"restart_count": 0, **status})
    return k8s.V1Pod(metadata=k8s.V1ObjectMeta(name=name), status=k8s.V1PodStatus(container_statuses=[container]))


def quota_event() -> k8s.CoreV1Event:
    return k8s.CoreV1Event(
        metadata=k8s.V1ObjectMeta(name="web-5d4.17f"), type="Warning", reason="FailedCreate",
        involved_object=k8s.V1ObjectReference(kind="ReplicaSet", name="web-5d4"),
        message='Error creating: pods "web-5d4-x" is forbidden: exceeded quota: compute, requested: cpu=1')


def test_explains_image_pull_failure() -> None:
    pods = [make_pod("web-1", "ContainerCreating"),
            make_pod("web-2", "ImagePullBackOff", 'Back-off pulling image "registry.example.invalid/web:9"')]
    reason = explain_failure(events=[], pods=pods, progress="web 0/2 ready", waited=300)
    assert reason == (f"image pull failed: web-2/app ({IMAGE}): ImagePullBackOff: "
                      'Back-off pulling image "registry.example.invalid/web:9"')
    assert explain_failure(events=[], pods=[make_pod("w", "ErrImagePull")], progress="").startswith(
        "image pull failed: w/app")


def test_explains_crash_loop_with_restarts_and_exit_code() -> None:
    last = k8s.V1ContainerState(terminated=k8s.V1ContainerStateTerminated(exit_code=137, reason="OOMKilled"))
    pod = make_pod("web-1", "CrashLoopBackOff", "back-off 40s restarting failed container", restart_count=4,
                   last_state=last)
    # The pods' current state wins over an older quota event.
    reason = explain_failure(events=[quota_event()], pods=[pod], progress="web 0/1 ready", waited=60)
    assert reason == ("crash loop: web-1/app restarted 4 times, last exit code 137 (OOMKilled): "
                      "back-off 40s restarting failed container")


def test_explains_quota_then_falls_back_to_progress() -> None:
    assert explain_failure(events=[quota_event()], pods=[], progress="web 0/1 ready").startswith(
        'quota exceeded: Error creating: pods "web-5d4-x" is forbidden: exceeded quota: compute')
    normal = quota_event()
    normal.type = "Normal"
    assert explain_failure(events=[normal], pods=[make_pod("web-1", "ContainerCreating")],
                           progress="web 0/1 ready", waited=12.4) == "not ready after 12s: web 0/1 ready"


# --- namespace deletion ---------------------------------------------------------------------------


@pytest.fixture
def extra_namespace(kube_client: k8s.ApiClient) -> Iterator[str]:
    """A namespace the test deletes itself; whatever happens, no finalizer holds it afterwards."""
    core = k8s.CoreV1Api(kube_client)
    name = f"t-delete-{uuid.uuid4().hex[:8]}"
    core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name, labels={"slipway.test/namespace": "true"})))
    yield name
    try:
        for cm in core.list_namespaced_config_map(name).items:
            if cm.metadata.finalizers:
                core.patch_namespaced_config_map(cm.metadata.name, name, {"metadata": {"finalizers": None}})
        core.delete_namespace(name, propagation_policy="Background")
    except ApiException as exc:
        if exc.status != 404:
            raise


def test_delete_namespace_waits_until_gone_and_is_idempotent(kube_client: k8s.ApiClient, extra_namespace: str) -> None:
    ns, core = extra_namespace, k8s.CoreV1Api(kube_client)
    # The namespace controller needs the default service account to exist before pods are admitted.
    raise_for_errors(apply_manifests(kube_client, [config_map(ns, "web-config"), service(ns)]))

    delete_namespace(kube_client, ns, timeout=60)

    with pytest.raises(ApiException) as missing:
        core.read_namespace(ns)
    assert missing.value.status == 404
    delete_namespace(kube_client, ns, timeout=5)  # already gone: a no-op


def test_stuck_namespace_names_what_holds_it(kube_client: k8s.ApiClient, extra_namespace: str) -> None:
    ns, core = extra_namespace, k8s.CoreV1Api(kube_client)
    held = config_map(ns, "held")
    held["metadata"]["finalizers"] = [HOLD]
    raise_for_errors(apply_manifests(kube_client, [held, config_map(ns, "free")]))

    with pytest.raises(NamespaceStuck) as stuck:
        delete_namespace(kube_client, ns, timeout=2)
    message = stuck.value.message
    assert message.startswith(f"namespace {ns} still exists after 2s (phase Terminating)")
    assert f"ConfigMap/held (finalizers: {HOLD})" in message
    assert "namespace finalizers: kubernetes" in message

    # Once the namespace controller has removed what it can, only the held object is left, and the
    # namespace's conditions say which finalizer is waited on. Deleting again just waits again.
    watch_until(core.list_namespace, field_selector=f"metadata.name={ns}", until=lambda ns_: any(
        c.type == "NamespaceFinalizersRemaining" and c.status == "True" for c in ns_.status.conditions or []))
    with pytest.raises(NamespaceStuck) as still:
        delete_namespace(kube_client, ns, timeout=1)
    message = still.value.message
    assert f"NamespaceFinalizersRemaining: Some content in the namespace has finalizers remaining: {HOLD}" in message
    assert f"remaining objects: ConfigMap/held terminating (finalizers: {HOLD})" in message
    assert "ConfigMap/free" not in message

    core.patch_namespaced_config_map("held", ns, {"metadata": {"finalizers": None}})
    delete_namespace(kube_client, ns, timeout=60)
    with pytest.raises(ApiException) as missing:
        core.read_namespace(ns)
    assert missing.value.status == 404
