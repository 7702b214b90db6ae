"""The local Kubernetes stack is a real control plane: scheduling, controllers, admission, watches
and pod logs behave as on a cluster, with kwok standing in for the kubelets."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import watch
from kubernetes.client.rest import ApiException

from devstack.control_plane import pinned_version
from devstack.kwok_pod_logs import append_pod_log

pytestmark = pytest.mark.integration

IMAGE = "registry.example.invalid/slipway/demo:1.0"  # never pulled: kwok runs no containers


def container(name: str = "app", cpu: str = "100m", memory: str = "128Mi") -> k8s.V1Container:
    resources = {"cpu": cpu, "memory": memory}
    return k8s.V1Container(name=name, image=IMAGE,
                           resources=k8s.V1ResourceRequirements(requests=resources, limits=resources))


def pod(name: str, **spec: Any) -> k8s.V1Pod:
    spec.setdefault("containers", [container()])
    return k8s.V1Pod(metadata=k8s.V1ObjectMeta(name=name, labels={"app": name}), spec=k8s.V1PodSpec(**spec))


def deployment(name: str, replicas: int) -> k8s.V1Deployment:
    labels = {"app": name}
    return k8s.V1Deployment(
        metadata=k8s.V1ObjectMeta(name=name, labels=labels),
        spec=k8s.V1DeploymentSpec(
            replicas=replicas, selector=k8s.V1LabelSelector(match_labels=labels),
            template=k8s.V1PodTemplateSpec(metadata=k8s.V1ObjectMeta(labels=labels),
                                           spec=k8s.V1PodSpec(containers=[container()]))))


def is_ready(p: k8s.V1Pod) -> bool:
    return p.metadata.deletion_timestamp is None and any(
        c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])


def watch_until(list_fn: Callable[..., Any], *args: Any, until: Callable[[str, Any], bool], timeout: int = 60,
                **kwargs: Any) -> Any:
    """Watch ``list_fn`` (initial state first, then changes) until ``until(type, obj)`` holds."""
    w = watch.Watch()
    for event in w.stream(list_fn, *args, timeout_seconds=timeout, **kwargs):
        if until(event["type"], event["object"]):
            w.stop()
            return event["object"]
    pytest.fail(f"{list_fn.__name__}{args}: condition not reached within {timeout}s")


def wait_pod_ready(core: k8s.CoreV1Api, namespace: str, name: str) -> k8s.V1Pod:
    return watch_until(core.list_namespaced_pod, namespace, field_selector=f"metadata.name={name}",
                       until=lambda _, p: is_ready(p))


def test_server_is_the_pinned_build(kube_client: k8s.ApiClient) -> None:
    assert k8s.VersionApi(kube_client).get_code().git_version == pinned_version("KUBE_VERSION")


def test_nodes_are_labelled_kwok_nodes_with_realistic_allocatable(kube_client: k8s.ApiClient) -> None:
    nodes = k8s.CoreV1Api(kube_client).list_node(label_selector="type=kwok").items
    assert sorted(n.metadata.labels["topology.kubernetes.io/zone"] for n in nodes) == ["local-a", "local-b", "local-c"]
    for node in nodes:
        labels = node.metadata.labels
        assert labels["kubernetes.io/os"] == "linux"
        assert labels["node.kubernetes.io/instance-type"] == "m5.xlarge"
        assert labels["kubernetes.io/hostname"] == node.metadata.name
        assert {k: node.status.allocatable[k] for k in ("cpu", "memory", "pods")} == {
            "cpu": "4", "memory": "16Gi", "pods": "110"}
        assert {c.type: c.status for c in node.status.conditions}["Ready"] == "True"
        assert not node.spec.taints  # schedulable without tolerations
        assert node.status.node_info.kubelet_version.startswith("kwok-")


def test_deployment_reaches_three_ready_pods_on_kwok_nodes(kube_client: k8s.ApiClient, kube_namespace: str) -> None:
    apps, core = k8s.AppsV1Api(kube_client), k8s.CoreV1Api(kube_client)
    apps.create_namespaced_deployment(kube_namespace, deployment("web", replicas=3))

    watch_until(apps.list_namespaced_deployment, kube_namespace, field_selector="metadata.name=web",
                until=lambda _, d: (d.status.ready_replicas or 0) == 3 and (d.status.available_replicas or 0) == 3)

    pods = core.list_namespaced_pod(kube_namespace, label_selector="app=web").items
    kwok_nodes = {n.metadata.name for n in core.list_node(label_selector="type=kwok").items}
    assert len(pods) == 3
    for p in pods:
        assert p.status.phase == "Running"
        assert is_ready(p)
        assert p.spec.node_name in kwok_nodes
        assert p.status.pod_ip
        assert p.status.container_statuses[0].state.running is not None
        # The pod is owned by a ReplicaSet, which the Deployment controller created.
        assert p.metadata.owner_references[0].kind == "ReplicaSet"


def test_deleted_pod_is_recreated(kube_client: k8s.ApiClient, kube_namespace: str) -> None:
    apps, core = k8s.AppsV1Api(kube_client), k8s.CoreV1Api(kube_client)
    apps.create_namespaced_deployment(kube_namespace, deployment("api", replicas=2))
    watch_until(apps.list_namespaced_deployment, kube_namespace, field_selector="metadata.name=api",
                until=lambda _, d: (d.status.ready_replicas or 0) == 2)
    victim = core.list_namespaced_pod(kube_namespace, label_selector="app=api").items[0]

    core.delete_namespaced_pod(victim.metadata.name, kube_namespace)

    live: dict[str, k8s.V1Pod] = {}

    def replaced(kind: str, p: k8s.V1Pod) -> bool:
        if kind == "DELETED":
            live.pop(p.metadata.uid, None)
        else:
            live[p.metadata.uid] = p
        ready = {uid for uid, q in live.items() if is_ready(q)}
        return len(ready) == 2 and victim.metadata.uid not in live

    watch_until(core.list_namespaced_pod, kube_namespace, label_selector="app=api", until=replaced)
    assert victim.metadata.name not in {p.metadata.name for p in live.values()}


def test_resource_quota_rejects_an_over_quota_pod(kube_client: k8s.ApiClient, kube_namespace: str) -> None:
    core = k8s.CoreV1Api(kube_client)
    core.create_namespaced_resource_quota(kube_namespace, k8s.V1ResourceQuota(
        metadata=k8s.V1ObjectMeta(name="compute"),
        spec=k8s.V1ResourceQuotaSpec(hard={"pods": "3", "requests.cpu": "500m", "limits.cpu": "500m"})))
    # Admission refuses every pod until the quota controller has published the quota's status.
    watch_until(core.list_namespaced_resource_quota, kube_namespace, until=lambda _, q: bool(q.status.hard))

    core.create_namespaced_pod(kube_namespace, pod("small", containers=[container(cpu="200m")]))
    with pytest.raises(ApiException) as rejected:
        core.create_namespaced_pod(kube_namespace, pod("big", containers=[container(cpu="400m")]))

    assert rejected.value.status == 403
    assert "exceeded quota: compute" in rejected.value.body
    assert "requested: limits.cpu=400m,requests.cpu=400m, used: limits.cpu=200m,requests.cpu=200m" in rejected.value.body
    with pytest.raises(ApiException):
        core.read_namespaced_pod("big", kube_namespace)
    # The quota controller accounts for the admitted pod.
    watch_until(core.list_namespaced_resource_quota, kube_namespace,
                until=lambda _, q: (q.status.used or {}).get("requests.cpu") == "200m")


def test_unschedulable_pod_stays_pending(kube_client: k8s.ApiClient, kube_namespace: str) -> None:
    core = k8s.CoreV1Api(kube_client)
    core.create_namespaced_pod(kube_namespace, pod("nowhere", node_selector={"topology.kubernetes.io/zone": "mars"}))

    p = watch_until(core.list_namespaced_pod, kube_namespace, field_selector="metadata.name=nowhere", until=lambda _, p: any(
        c.type == "PodScheduled" and c.reason == "Unschedulable" for c in p.status.conditions or []))

    assert p.status.phase == "Pending"
    assert p.spec.node_name is None


def test_followed_pod_log_streams_lines_appended_later(kube_client: k8s.ApiClient, kube_namespace: str) -> None:
    core = k8s.CoreV1Api(kube_client)
    core.create_namespaced_pod(kube_namespace, pod("logger"))
    wait_pod_ready(core, kube_namespace, "logger")
    append_pod_log(kube_namespace, "logger", "app", "booting\nlistening on :8000", client=kube_client)

    # Read on this thread: the read timeout bounds how long each line may take to arrive (a
    # reader thread would make close() wait for its blocked read to time out).
    response = core.read_namespaced_pod_log("logger", kube_namespace, container="app", follow=True,
                                            _preload_content=False, _request_timeout=(5, 10))
    try:
        lines = (raw.decode().rstrip("\n") for raw in response)
        assert [next(lines), next(lines)] == ["booting", "listening on :8000"]
        marker = f"request {uuid.uuid4().hex} handled"
        append_pod_log(kube_namespace, "logger", "app", marker, client=kube_client)
        assert next(lines) == marker
    finally:
        response.close()

    # A plain read returns the whole log, and other pods do not see this pod's lines.
    assert core.read_namespaced_pod_log("logger", kube_namespace).splitlines()[-1] == marker
    core.create_namespaced_pod(kube_namespace, pod("quiet"))
    wait_pod_ready(core, kube_namespace, "quiet")
    assert core.read_namespaced_pod_log("quiet", kube_namespace) == ""


def test_watch_sees_object_changes(kube_client: k8s.ApiClient, kube_namespace: str) -> None:
    core = k8s.CoreV1Api(kube_client)
    since = core.list_namespaced_config_map(kube_namespace).metadata.resource_version
    core.create_namespaced_config_map(kube_namespace, k8s.V1ConfigMap(
        metadata=k8s.V1ObjectMeta(name="settings"), data={"mode": "a"}))
    core.patch_namespaced_config_map("settings", kube_namespace, {"data": {"mode": "b"}})
    core.delete_namespaced_config_map("settings", kube_namespace)

    seen: list[tuple[str, str]] = []

    def record(kind: str, cm: k8s.V1ConfigMap) -> bool:
        if cm.metadata.name == "settings":
            seen.append((kind, (cm.data or {}).get("mode", "")))
        return kind == "DELETED"

    watch_until(core.list_namespaced_config_map, kube_namespace, resource_version=since, until=record, timeout=20)
    assert seen == [("ADDED", "a"), ("MODIFIED", "b"), ("DELETED", "b")]


def test_watch_sees_scheduler_events(kube_client: k8s.ApiClient, kube_namespace: str) -> None:
    core = k8s.CoreV1Api(kube_client)
    core.create_namespaced_pod(kube_namespace, pod("evented"))

    event = watch_until(core.list_namespaced_event, kube_namespace, field_selector="involvedObject.name=evented",
                        until=lambda _, e: e.reason == "Scheduled")

    node = wait_pod_ready(core, kube_namespace, "evented").spec.node_name
    assert event.source.component == "default-scheduler" or event.reporting_component == "default-scheduler"
    assert f"to {node}" in event.message


def test_hpa_network_policy_ingress_and_limit_range_are_accepted(kube_client: k8s.ApiClient,
                                                                  kube_namespace: str) -> None:
    """The kinds environments render are served and validated by the real API server."""
    from kubernetes.client.exceptions import ApiException

    ns = kube_namespace
    k8s.AutoscalingV2Api(kube_client).create_namespaced_horizontal_pod_autoscaler(ns, {
        "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "minReplicas": 1, "maxReplicas": 4,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                                                               "target": {"type": "Utilization", "averageUtilization": 70}}}]}})
    k8s.NetworkingV1Api(kube_client).create_namespaced_network_policy(ns, {
        "metadata": {"name": "deny-other-namespaces"},
        "spec": {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}], "policyTypes": ["Ingress"]}})
    k8s.NetworkingV1Api(kube_client).create_namespaced_ingress(ns, {
        "metadata": {"name": "web"},
        "spec": {"rules": [{"host": "qa-1.example.test", "http": {"paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}})
    k8s.CoreV1Api(kube_client).create_namespaced_limit_range(ns, {
        "metadata": {"name": "defaults"},
        "spec": {"limits": [{"type": "Container", "default": {"cpu": "200m", "memory": "256Mi"}}]}})
    assert k8s.AutoscalingV2Api(kube_client).read_namespaced_horizontal_pod_autoscaler("web", ns).spec.max_replicas == 4
    assert k8s.NetworkingV1Api(kube_client).read_namespaced_ingress("web", ns).spec.rules[0].host == "qa-1.example.test"
    # Validation is real: an HPA whose minimum exceeds its maximum is refused.
    with pytest.raises(ApiException) as refused:
        k8s.AutoscalingV2Api(kube_client).create_namespaced_horizontal_pod_autoscaler(ns, {
            "metadata": {"name": "bad"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "minReplicas": 5, "maxReplicas": 2}})
    assert refused.value.status == 422
    # LimitRange admission is real: a container without resources gets the defaults.
    pod = k8s.CoreV1Api(kube_client).create_namespaced_pod(ns, {
        "metadata": {"name": "defaults-applied"},
        "spec": {"containers": [{"name": "app", "image": "example.test/app:1.0"}]}})
    assert pod.spec.containers[0].resources.limits == {"cpu": "200m", "memory": "256Mi"}


def test_a_stopped_standalone_cluster_resumes_with_what_it_held(tmp_path) -> None:
    """`make run`'s Ctrl-C stops its control planes; the next start resumes them, namespaces and all."""
    import subprocess
    import sys

    from devstack.control_plane import KwokCluster
    from devstack.process import free_port, port_open

    free_tcp_port = free_port()

    def kube(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "devstack.control_plane", command, "--name", "resume-it", "--port",
                               str(free_tcp_port), "--dir", str(tmp_path)], capture_output=True, text=True, timeout=300)

    assert kube("up").returncode == 0
    try:
        cluster = KwokCluster.standalone("resume-it", free_tcp_port, tmp_path)
        with cluster.api_client() as api:
            k8s.CoreV1Api(api).create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name="kept")))
        assert kube("stop").returncode == 0
        assert not port_open(free_tcp_port) and not cluster.running()
        resumed = kube("up")
        assert resumed.returncode == 0 and "resuming" in resumed.stderr, resumed.stderr
        with cluster.api_client() as api:
            assert k8s.CoreV1Api(api).read_namespace("kept").status.phase == "Active"
    finally:
        kube("down")
    assert not port_open(free_tcp_port)


def test_a_retry_first_kills_what_the_failed_attempt_left_on_the_port(tmp_path) -> None:
    """A component the failed `kwokctl create` started but never recorded survives ``delete`` and holds the port;
    the retry's API server would fail with "address already in use". ``release_port`` frees it, and leaves other
    clusters' and programs' processes alone."""
    import subprocess
    import sys

    from devstack.control_plane import KwokCluster
    from devstack.process import free_port, port_open

    cluster = KwokCluster.standalone("retry-it", free_port(), tmp_path)
    listen = ("import socket, sys, time; s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); "
              "time.sleep(300)")
    stray = subprocess.Popen([sys.executable, "-c", listen, str(cluster.port), f"--data-dir={cluster.cluster_dir}/etcd"])
    other_port = free_port()
    other = subprocess.Popen([sys.executable, "-c", listen, str(other_port), f"--data-dir={tmp_path}/elsewhere"])
    try:
        for _ in range(100):
            if port_open(cluster.port) and port_open(other_port):
                break
            time.sleep(0.05)
        assert port_open(cluster.port)
        cluster.release_port(timeout=10)
        assert stray.wait(timeout=5) == -9
        assert not port_open(cluster.port)
        assert other.poll() is None and port_open(other_port)
    finally:
        for proc in (stray, other):
            proc.kill()
            proc.wait()
