"""Drift detection and reconcile (environments/kube/drift.py).

The comparison itself is tested on plain dicts; detection, ``changed_by`` and reconcile run against
the real local control plane, where the API server and the controllers add their defaults, status
and managedFields exactly as on a production cluster.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from clusters.kube.apply import apply_manifests, raise_for_errors
from clusters.kube.live_diff import (
    REDACTED,
    FieldChange,
    ObjectDrift,
    changed_by,
    detect_drift,
    diff_object,
    format_path,
    parse_path,
    reconcile,
)
from clusters.kube.objects import dynamic_client, resource_for
from clusters.kube.wait import wait_ready
from environments.render import BackingServiceSpec, ComponentSpec, EnvironmentSpec, render

ENV = "drift"
SELECTOR = f"app.kubernetes.io/managed-by=slipway,slipway.io/environment={ENV}"
SECRET_VALUE = "s3cr3t-session-key"
DB_PASSWORD = "db-root-pw-1"
CONTAINERS = "spec.template.spec.containers"
integration = pytest.mark.integration


# --- the comparison on plain data -----------------------------------------------------------------


def deployment(containers: list[dict[str, Any]], replicas: int = 2) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "ns"},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": containers}}}}


def container(name: str = "web", image: str = "web:1", **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": image, **extra}


def test_server_populated_and_defaulted_fields_are_not_drift() -> None:
    desired = deployment([container(ports=[{"containerPort": 8000}])])
    desired["metadata"]["labels"] = {"app.kubernetes.io/name": "web"}
    live = copy.deepcopy(desired)
    live["metadata"].update(uid="u-1", resourceVersion="42", generation=3, creationTimestamp="2025-01-01T00:00:00Z",
                            managedFields=[{"manager": "kube-controller-manager"}],
                            annotations={"deployment.kubernetes.io/revision": "3"})
    live["metadata"]["labels"]["added-by-someone"] = "x"
    live["spec"].update(strategy={"type": "RollingUpdate"}, progressDeadlineSeconds=600)
    live["spec"]["template"]["spec"].update(dnsPolicy="ClusterFirst", restartPolicy="Always")
    live["spec"]["template"]["spec"]["containers"][0].update(
        imagePullPolicy="IfNotPresent", terminationMessagePath="/dev/termination-log",
        ports=[{"containerPort": 8000, "protocol": "TCP"}])
    live["status"] = {"replicas": 2, "readyReplicas": 2}
    assert diff_object(desired, live) == []


def test_scalars_and_missing_fields_are_reported_with_both_values() -> None:
    desired = deployment([container()], replicas=2)
    desired["metadata"]["annotations"] = {"slipway.io/revision": "7"}
    live = deployment([container()], replicas=5)
    assert diff_object(desired, live) == [
        FieldChange('metadata.annotations["slipway.io/revision"]', "7", None),
        FieldChange("spec.replicas", 2, 5),
    ]


def test_quantities_under_resources_compare_by_value() -> None:
    def with_resources(cpu: str, memory: str) -> dict[str, Any]:
        return deployment([container(resources={"limits": {"cpu": cpu, "memory": memory},
                                                "requests": {"cpu": "100m", "memory": "64Mi"}})])

    assert diff_object(with_resources("0.5", "1Gi"), with_resources("500m", "1024Mi")) == []
    assert diff_object(with_resources("1", "1Gi"), with_resources("500m", "1Gi")) == [
        FieldChange(f"{CONTAINERS}[name=web].resources.limits.cpu", "1", "500m")]
    quota = {"kind": "ResourceQuota", "spec": {"hard": {"requests.memory": "16Gi", "pods": "50"}}}
    assert diff_object(quota, {"kind": "ResourceQuota", "spec": {"hard": {"requests.memory": "16384Mi", "pods": 50}}}) == []
    # Elsewhere a quantity-looking string is just a string.
    config = {"kind": "ConfigMap", "data": {"RATIO": "0.5"}}
    assert diff_object(config, {"kind": "ConfigMap", "data": {"RATIO": "500m"}}) == [
        FieldChange("data.RATIO", "0.5", "500m")]


def test_named_lists_match_by_name_and_other_lists_as_a_whole() -> None:
    desired = deployment([container("web", env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]),
                          container("sidecar", "proxy:1")])
    # Another order, an extra (injected) container and defaulted fields: in sync.
    live = deployment([container("injected", "mesh:9"), container("sidecar", "proxy:1", imagePullPolicy="Always"),
                       container("web", env=[{"name": "B", "value": "2"}, {"name": "A", "value": "1"}])])
    assert diff_object(desired, live) == []

    live["spec"]["template"]["spec"]["containers"][2]["env"][0]["value"] = "changed"
    live["spec"]["template"]["spec"]["containers"].pop(1)
    assert diff_object(desired, live) == [
        FieldChange(f"{CONTAINERS}[name=web].env[name=B].value", "2", "changed"),
        FieldChange(f"{CONTAINERS}[name=sidecar]", container("sidecar", "proxy:1"), None),
    ]

    # Lists without names: compared as whole values, tolerant of defaults inside the elements.
    desired = deployment([container(args=["--port", "80"], ports=[{"containerPort": 80}])])
    live = deployment([container(args=["--port", "80"], ports=[{"containerPort": 80, "protocol": "TCP"}])])
    assert diff_object(desired, live) == []
    live["spec"]["template"]["spec"]["containers"][0]["args"] = ["--port", "81"]
    assert diff_object(desired, live) == [FieldChange(f"{CONTAINERS}[name=web].args", ["--port", "80"], ["--port", "81"])]


def test_secret_values_are_compared_decoded_and_never_reported() -> None:
    desired = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque",
               "stringData": {"KEY": SECRET_VALUE, "OTHER": "x"}}

    def live(**data: str) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque",
                "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}

    assert diff_object(desired, live(KEY=SECRET_VALUE, OTHER="x", EXTRA="y")) == []
    changes = diff_object(desired, live(KEY="hand-edited-value"))
    assert changes == [FieldChange("stringData.KEY", REDACTED, REDACTED), FieldChange("stringData.OTHER", REDACTED, REDACTED)]
    assert SECRET_VALUE not in repr(changes) and "hand-edited-value" not in repr(changes)
    # base64 `data` on both sides is compared decoded as well.
    as_data = {**desired, "data": {"KEY": base64.b64encode(SECRET_VALUE.encode()).decode()}}
    del as_data["stringData"]
    assert diff_object(as_data, live(KEY=SECRET_VALUE)) == []
    assert diff_object(as_data, live(KEY="nope")) == [FieldChange("data.KEY", REDACTED, REDACTED)]


def test_paths_round_trip() -> None:
    segments = ["spec", "template", "metadata", "labels", "app.kubernetes.io/name"]
    assert format_path(segments) == 'spec.template.metadata.labels["app.kubernetes.io/name"]'
    for path in ('metadata.labels["app.kubernetes.io/name"]', f"{CONTAINERS}[name=web].ports[0].containerPort",
                 "spec.replicas"):
        assert format_path(parse_path(path)) == path
    with pytest.raises(ValueError, match="not a drift path"):
        parse_path("spec..replicas")


def test_changed_by_maps_paths_to_managed_fields_and_falls_back_to_time() -> None:
    live = {"kind": "Deployment", "metadata": {"managedFields": [
        {"manager": "slipway", "operation": "Apply", "time": "2025-01-01T10:00:00Z",
         "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"web"}': {"f:env": {}}}}}}}},
        {"manager": "kubectl-scale", "operation": "Update", "subresource": "scale", "time": "2025-01-01T09:00:00Z",
         "fieldsV1": {"f:spec": {"f:replicas": {}}}},
        {"manager": "kubectl-edit", "operation": "Update", "time": "2025-01-01T11:00:00Z",
         "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
             'k:{"name":"web"}': {"f:image": {}}, 'k:{"name":"other"}': {"f:args": {}}}}}}}},
        {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status",
         "time": "2025-01-01T12:00:00Z", "fieldsV1": {"f:status": {"f:replicas": {}}}},
    ]}}
    assert changed_by(live, ["spec.replicas"]) == ["kubectl-scale"]
    assert changed_by(live, [f"{CONTAINERS}[name=web].image", "spec.replicas"]) == ["kubectl-edit", "kubectl-scale"]
    assert changed_by(live, [f"{CONTAINERS}[name=other].args[0]"]) == ["kubectl-edit"]
    # Owned by nobody else (e.g. a field removed by hand): whoever wrote after slipway, status aside.
    assert changed_by(live, [f"{CONTAINERS}[name=web].env[name=A].value"]) == ["kubectl-edit"]


# --- on the cluster -------------------------------------------------------------------------------


def environment_spec(namespace: str) -> EnvironmentSpec:
    """A web component (config, secret, Service, Ingress; quantities in a non-canonical form), an
    autoscaled worker, and MariaDB + Redis on emptyDir."""
    web = ComponentSpec(name="web", image="registry.example.invalid/shop/web", tag="1.0", replicas=2,
                        env=(("MODE", "qa"),), secret_env=(("SESSION_KEY", SECRET_VALUE),),
                        cpu_limit="0.5", memory_limit="1024Mi")
    worker = ComponentSpec(name="worker", image="registry.example.invalid/shop/worker", tag="1.0", port=None,
                           command=("python", "-m", "worker"), autoscaling_min=1, autoscaling_max=3)
    return EnvironmentSpec(name=ENV, namespace=namespace, team="payments", owner="jane.doe@example.com",
                           stage="qa", revision=3, hostname="drift.envs.example.test", components=(web, worker),
                           backing_services=(BackingServiceSpec("mariadb", "db", password=DB_PASSWORD),
                                             BackingServiceSpec("redis", "cache")),
                           persistent_backing=False)


@pytest.fixture
def applied(kube_client: k8s.ApiClient, kube_namespace: str) -> list[dict[str, Any]]:
    """The rendered environment, applied (the Namespace object included: it is the fixture's)."""
    manifests = render(environment_spec(kube_namespace))
    raise_for_errors(apply_manifests(kube_client, manifests))
    return manifests


def detect(kube_client: k8s.ApiClient, manifests: list[dict[str, Any]], namespace: str) -> list[ObjectDrift]:
    return detect_drift(kube_client, manifests, namespace=namespace, selector=SELECTOR)


def live_object(kube_client: k8s.ApiClient, api_version: str, kind: str, name: str, namespace: str) -> dict[str, Any]:
    resource = resource_for(kube_client, api_version, kind)
    return dynamic_client(kube_client).get(resource, name=name, namespace=namespace).to_dict()


@integration
def test_freshly_applied_environment_is_in_sync(kube_client: k8s.ApiClient, kube_namespace: str,
                                                applied: list[dict[str, Any]]) -> None:
    ns = kube_namespace
    # Let the controllers do their part (pods, status, the revision annotation) before comparing.
    wait_ready(kube_client, namespace=ns, deployments=["web", "worker"], statefulsets=["db", "cache"], timeout=90)
    web = live_object(kube_client, "apps/v1", "Deployment", "web", ns)
    # The live object really carries what the server added and canonicalized ...
    assert web["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    assert web["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    pod_spec = web["spec"]["template"]["spec"]
    assert pod_spec["dnsPolicy"] == "ClusterFirst"
    [live_container] = pod_spec["containers"]
    assert live_container["terminationMessagePath"] == "/dev/termination-log"
    assert live_container["imagePullPolicy"] == "IfNotPresent"
    assert live_container["resources"]["limits"] == {"cpu": "500m", "memory": "1Gi"}
    assert web["status"]["readyReplicas"] == 2
    # ... and none of it is drift.
    assert detect(kube_client, applied, ns) == []


@integration
def test_scale_and_image_edit_are_drift_with_their_managers(kube_client: k8s.ApiClient, kube_namespace: str,
                                                           applied: list[dict[str, Any]]) -> None:
    ns, apps = kube_namespace, k8s.AppsV1Api(kube_client)
    apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 5}}, field_manager="kubectl-scale")
    apps.patch_namespaced_deployment(
        "web", ns, {"spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "registry.example.invalid/shop/web:hotfix"}]}}}},
        field_manager="kubectl-edit")

    [drift] = detect(kube_client, applied, ns)
    assert (drift.key, drift.state) == (("apps/v1", "Deployment", ns, "web"), "changed")
    assert drift.changes == [  # in the order of the rendered manifest, which sets replicas last
        FieldChange(f"{CONTAINERS}[name=web].image", "registry.example.invalid/shop/web:1.0",
                    "registry.example.invalid/shop/web:hotfix"),
        FieldChange("spec.replicas", 2, 5),
    ]
    assert drift.changed_by == ["kubectl-edit", "kubectl-scale"]
    live = live_object(kube_client, "apps/v1", "Deployment", "web", ns)
    assert changed_by(live, ["spec.replicas"]) == ["kubectl-scale"]
    assert changed_by(live, [f"{CONTAINERS}[name=web].image"]) == ["kubectl-edit"]

    results = reconcile(kube_client, applied, [drift], namespace=ns, selector=SELECTOR)
    raise_for_errors(results)
    assert {(r.key[1], r.key[3]): r.action for r in results if r.action != "unchanged"} == {
        ("Deployment", "web"): "configured"}
    assert detect(kube_client, applied, ns) == []
    web = apps.read_namespaced_deployment("web", ns)
    assert (web.spec.replicas, web.spec.template.spec.containers[0].image) == (2, "registry.example.invalid/shop/web:1.0")
    managers = {m.manager for m in web.metadata.managed_fields if m.manager != "kube-controller-manager"}
    assert managers == {"slipway"}  # the forced apply took both fields back


@integration
def test_missing_extra_and_secret_drift_then_reconcile(kube_client: k8s.ApiClient, kube_namespace: str,
                                                       applied: list[dict[str, Any]]) -> None:
    ns, core = kube_namespace, k8s.CoreV1Api(kube_client)
    core.delete_namespaced_config_map("web-config", ns)
    labels = {"app.kubernetes.io/managed-by": "slipway", "slipway.io/environment": ENV}
    core.create_namespaced_config_map(ns, k8s.V1ConfigMap(
        metadata=k8s.V1ObjectMeta(name="leftover", labels=labels), data={"A": "1"}), field_manager="kubectl-create")
    # Neither Slipway's (no labels) nor desired: not drift.
    core.create_namespaced_config_map(ns, k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="foreign")))
    edited = base64.b64encode(b"hand-edited-password").decode()
    core.patch_namespaced_secret("db-credentials", ns, {"data": {"password": edited}}, field_manager="kubectl-edit")

    drifts = detect(kube_client, applied, ns)
    by_key = {(d.key[1], d.key[3]): d for d in drifts}
    assert set(by_key) == {("ConfigMap", "web-config"), ("Secret", "db-credentials"), ("ConfigMap", "leftover")}
    assert by_key["ConfigMap", "web-config"] == ObjectDrift(("v1", "ConfigMap", ns, "web-config"), "missing", [], [])
    assert by_key["ConfigMap", "leftover"] == ObjectDrift(("v1", "ConfigMap", ns, "leftover"), "extra", [],
                                                          ["kubectl-create"])
    secret = by_key["Secret", "db-credentials"]
    assert secret.state == "changed"
    assert secret.changes == [FieldChange("stringData.password", REDACTED, REDACTED)]
    assert secret.changed_by == ["kubectl-edit"]
    text = repr(drifts)
    assert DB_PASSWORD not in text and "hand-edited-password" not in text and edited not in text
    assert SECRET_VALUE not in text

    results = reconcile(kube_client, applied, drifts, namespace=ns, selector=SELECTOR)
    raise_for_errors(results)
    changed = {(r.key[1], r.key[3]): r.action for r in results if r.action != "unchanged"}
    assert changed == {("ConfigMap", "web-config"): "created", ("Secret", "db-credentials"): "configured",
                       ("ConfigMap", "leftover"): "deleted"}
    assert detect(kube_client, applied, ns) == []
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_config_map("leftover", ns)
    assert gone.value.status == 404
    assert core.read_namespaced_config_map("foreign", ns).metadata.deletion_timestamp is None
    assert base64.b64decode(core.read_namespaced_secret("db-credentials", ns).data["password"]).decode() == DB_PASSWORD
    assert core.read_namespaced_config_map("web-config", ns).data == {"MODE": "qa"}
