"""The Helm chart (docker/helm/slipway/): `helm lint` and `helm template` with the helm the stack builds
(devstack/build-kube.sh, helm.sh/helm/v4), then the rendered manifests, hooks included, applied with
server-side apply into a fresh namespace of the stack's local control plane.

There is no Docker engine here and the image is never pulled: kwok stands in for the kubelets, so the
pods go Ready (and the migration Job's pod completes) without any container running. What this proves
is that the API server accepts every object the chart renders (HPA, PDB, NetworkPolicy, Ingress, RBAC,
the hook Job...), that the scheduler places the pods on the kwok nodes, that the controllers bring the
Deployments and the Job to Ready/Complete, and that the ClusterRole grants what Slipway checks for.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config
from kubernetes.client.rest import ApiException

from clusters.kube.rbac import CHAOS_REQUIRED, REQUIRED, Permission, missing_permissions
from tests.fixtures.stack import in_ci, stack_up
from tests.reliability.worker import wait_for
from tests.test_docker import settings_env_names

pytestmark = pytest.mark.integration

CHART = Path(__file__).resolve().parents[2] / "docker" / "helm" / "slipway"
IMAGE = "registry.example.invalid/slipway"  # never pulled: kwok runs no containers
HOST = "slipway-helm-test.example.invalid"
# Read by a library, not by portal/settings.py: prometheus_client's directory for a prefork worker's figures.
LIBRARY_SETTINGS = {"PROMETHEUS_MULTIPROC_DIR"}


@pytest.fixture(scope="module")
def kube_facts() -> dict[str, str]:
    return stack_up("kube")  # builds helm with the control plane's binaries if it is missing


@pytest.fixture(scope="module")
def helm(kube_facts: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Run the stack's helm with its own (empty) config and cache directories; returns the CompletedProcess."""
    binary = kube_facts.get("HELM", "")
    if not os.access(binary, os.X_OK):
        message = f"helm is not built at {binary!r} (devstack/build-kube.sh helm)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    home = tmp_path_factory.mktemp("helm-home")
    env = {**os.environ, "HELM_CONFIG_HOME": str(home / "config"), "HELM_CACHE_HOME": str(home / "cache"),
           "HELM_DATA_HOME": str(home / "data"), "KUBECONFIG": kube_facts["KUBECONFIG"]}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([binary, *args], env=env, capture_output=True, text=True, timeout=120)

    return run


def install_flags(namespace: str = "slipway") -> list[str]:
    """--set flags of a realistic install (the rest are the chart's defaults)."""
    return ["--namespace", namespace, "--set", f"image.repository={IMAGE}", "--set", "image.tag=test",
            "--set", f"ingress.hosts[0]={HOST}", "--set", "ingress.tls[0].secretName=slipway-tls",
            "--set", f"ingress.tls[0].hosts[0]={HOST}", "--set", "networkPolicy.database.cidrs[0]=10.0.0.0/16"]


def render(helm: Any, release: str, *args: str) -> list[dict[str, Any]]:
    proc = helm("template", release, str(CHART), *args)
    assert proc.returncode == 0, proc.stderr
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def kinds(docs: list[dict[str, Any]]) -> list[str]:
    return sorted(f"{doc['kind']}/{doc['metadata']['name']}" for doc in docs)


def test_lint_strict_passes(helm: Any) -> None:
    for args in ([], install_flags()):
        proc = helm("lint", "--strict", str(CHART), *args)
        assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(("flags", "message"), [
    (["--set", "web.replicas=many"], "at '/web/replicas': got string, want integer"),
    (["--set", "existingSecret.name="], "at '/existingSecret/name'"),
    (["--set", "config.logLevel=LOUD"], "at '/config/logLevel'"),
    (["--set", "ingress.enabled=false"], "at '/config/allowedHosts': minItems: got 0, want 1"),
])
def test_a_bad_value_is_refused_with_a_message(helm: Any, flags: list[str], message: str) -> None:
    for verb in ("template", "lint"):
        proc = helm(verb, "bad", str(CHART), *flags) if verb == "template" else helm(verb, str(CHART), *flags)
        assert proc.returncode != 0, f"helm {verb} {flags} was accepted"
        assert message in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def test_template_renders_every_part_and_no_secret_value(helm: Any) -> None:
    docs = render(helm, "rel", *install_flags())
    assert kinds(docs) == sorted([
        "ConfigMap/rel-slipway", "Service/rel-slipway-web", "ServiceAccount/rel-slipway", "Ingress/rel-slipway",
        "Deployment/rel-slipway-web", "Deployment/rel-slipway-worker", "Deployment/rel-slipway-beat",
        "HorizontalPodAutoscaler/rel-slipway-web", "HorizontalPodAutoscaler/rel-slipway-worker",
        "PodDisruptionBudget/rel-slipway-web", "PodDisruptionBudget/rel-slipway-worker",
        "NetworkPolicy/rel-slipway-web-ingress", "NetworkPolicy/rel-slipway-no-ingress",
        "NetworkPolicy/rel-slipway-egress", "Job/rel-slipway-migrate",
        "ClusterRole/rel-slipway-slipway", "ClusterRoleBinding/rel-slipway-slipway"])
    by_name = {doc["metadata"]["name"] + "/" + doc["kind"]: doc for doc in docs}
    job = by_name["rel-slipway-migrate/Job"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job["metadata"]["annotations"]["helm.sh/hook-delete-policy"] == "before-hook-creation"
    beat = by_name["rel-slipway-beat/Deployment"]["spec"]
    assert (beat["replicas"], beat["strategy"]["type"]) == (1, "Recreate")
    web = by_name["rel-slipway-web/Deployment"]["spec"]["template"]
    container = web["spec"]["containers"][0]
    assert (container["livenessProbe"]["httpGet"]["path"], container["readinessProbe"]["httpGet"]["path"]) == (
        "/healthz", "/readyz")
    assert web["metadata"]["annotations"]["prometheus.io/path"] == "/metrics"
    assert "--access-log" in container["command"]  # JSON logs: the access lines come from Slipway's middleware
    worker = by_name["rel-slipway-worker/Deployment"]["spec"]["template"]
    assert worker["metadata"]["annotations"]["prometheus.io/port"] == "9808"
    assert worker["spec"]["containers"][0]["ports"] == [{"name": "metrics", "containerPort": 9808, "protocol": "TCP"}]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # Every setting comes by name from the existing Secret, or as a plain value that settings.py reads.
    config_map = by_name["rel-slipway/ConfigMap"]["data"]
    names = set(config_map)
    for doc in docs:
        if doc["kind"] in {"Deployment", "Job"}:
            for c in doc["spec"]["template"]["spec"]["containers"]:
                for var in c.get("env", []):
                    names.add(var["name"])
                    assert "value" not in var or var["name"] in config_map, f"{var['name']} has a literal value"
    assert not names - settings_env_names() - LIBRARY_SETTINGS, "set but not read by portal/settings.py"
    assert config_map["ALLOWED_HOSTS"] == HOST and config_map["CSRF_TRUSTED_ORIGINS"] == f"https://{HOST}"
    assert (config_map["SLIPWAY_LOG_FORMAT"], config_map["SLIPWAY_WORKER_METRICS_PORT"]) == ("json", "9808")
    assert "Secret" not in {doc["kind"] for doc in docs}


# --- installed on the local control plane --------------------------------------------------------


def deployments_ready(apps: k8s.AppsV1Api, namespace: str) -> bool:
    items = apps.list_namespaced_deployment(namespace).items
    return len(items) == 3 and all(
        (d.status.observed_generation or 0) >= d.metadata.generation and d.status.replicas
        and d.status.ready_replicas == d.status.replicas == d.spec.replicas for d in items)


def job_complete(batch: k8s.BatchV1Api, namespace: str, name: str) -> bool:
    job = batch.read_namespaced_job(name, namespace)
    return any(c.type == "Complete" and c.status == "True" for c in job.status.conditions or [])


@pytest.fixture
def chart_namespace(kube_facts: dict[str, str], kube_client: k8s.ApiClient) -> Iterator[str]:
    """A fresh namespace holding the Secret an operator creates before installing; deleted afterwards."""
    core = k8s.CoreV1Api(kube_client)
    namespace = f"helm-{uuid.uuid4().hex[:8]}"
    core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(
        name=namespace, labels={"slipway.test/namespace": "true"})))
    try:
        wait_for(lambda: core.list_namespaced_service_account(namespace, field_selector="metadata.name=default").items,
                 30, "the namespace's default service account")
        core.create_namespaced_secret(namespace, k8s.V1Secret(metadata=k8s.V1ObjectMeta(name="slipway"), string_data={
            "SECRET_KEY": secrets.token_urlsafe(50), "SLIPWAY_ENCRYPTION_KEYS": secrets.token_urlsafe(32),
            "DATABASE_URL": "postgres://slipway@db.invalid/slipway", "REDIS_URL": "redis://redis.invalid:6379/0"}))
        yield namespace
    finally:
        core.delete_namespace(namespace, propagation_policy="Background")


def test_installs_on_the_local_control_plane(helm: Any, kube_facts: dict[str, str], kube_client: k8s.ApiClient,
                                             chart_namespace: str) -> None:
    namespace, release = chart_namespace, f"h{uuid.uuid4().hex[:6]}"
    docs = render(helm, release, *install_flags(namespace))
    env = {**os.environ, "KUBECONFIG": kube_facts["KUBECONFIG"], "KUBECACHEDIR": kube_facts["KUBECACHEDIR"]}
    rbac_api = k8s.RbacAuthorizationV1Api(kube_client)
    cluster_scoped = [(doc["kind"], doc["metadata"]["name"]) for doc in docs if doc["kind"].startswith("ClusterRole")]
    try:
        applied = subprocess.run(
            [kube_facts["KUBECTL"], "apply", "--server-side", "--field-manager=slipway-chart-test", "-n", namespace,
             "-f", "-"], input=yaml.safe_dump_all(docs), env=env, capture_output=True, text=True, timeout=120)
        assert applied.returncode == 0, applied.stderr
        lines = applied.stdout.splitlines()
        assert len(lines) == len(docs) and all(line.endswith("serverside-applied") for line in lines), applied.stdout

        apps, batch, core = k8s.AppsV1Api(kube_client), k8s.BatchV1Api(kube_client), k8s.CoreV1Api(kube_client)
        wait_for(lambda: deployments_ready(apps, namespace), 60, "the Deployments Ready")
        wait_for(lambda: job_complete(batch, namespace, f"{release}-slipway-migrate"), 60, "the migration Job Complete")
        pods = core.list_namespaced_pod(namespace).items
        assert {p.metadata.labels["app.kubernetes.io/component"] for p in pods} == {"web", "worker", "beat", "migrate"}
        assert all(p.spec.node_name and p.spec.node_name.startswith("kwok-node-") for p in pods)
        beat = apps.read_namespaced_deployment(f"{release}-slipway-beat", namespace)
        assert beat.status.ready_replicas == 1

        # The ClusterRole grants what registration and chaos check for, as the ServiceAccount itself sees it,
        # and not what Slipway never does (writing RBAC, creating pods directly).
        configuration = k8s.Configuration()
        config.load_kube_config(config_file=kube_facts["KUBECONFIG"], client_configuration=configuration)
        as_sa = k8s.ApiClient(configuration, header_name="Impersonate-User",
                              header_value=f"system:serviceaccount:{namespace}:{release}-slipway")
        with as_sa:
            assert missing_permissions(as_sa, [*REQUIRED, *CHAOS_REQUIRED]) == []
            not_granted = [Permission("create", "clusterrolebindings", "rbac.authorization.k8s.io", cluster_scoped=True),
                           Permission("create", "pods"), Permission("create", "pods", subresource="exec")]
            assert missing_permissions(as_sa, not_granted) == not_granted
    finally:
        for kind, name in cluster_scoped:
            delete = (rbac_api.delete_cluster_role if kind == "ClusterRole" else rbac_api.delete_cluster_role_binding)
            try:
                delete(name)
            except ApiException as exc:
                if exc.status != 404:
                    raise
