"""Rendering an environment revision into Kubernetes manifests (environments/render).

Golden files pin the exact output; regenerate them after an intended change with
``SLIPWAY_UPDATE_GOLDEN=1 pytest tests/environments`` and review the diff like code.
"""

import dataclasses
import difflib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from kubernetes import client as k8s

from environments.render import (
    KIND_ORDER,
    BackingServiceSpec,
    ComponentSpec,
    EnvironmentSpec,
    RenderError,
    object_key,
    render,
    sanitize_label_value,
    to_yaml,
)
from environments.render.validation import is_label_value

GOLDEN_DIR = Path(__file__).parent / "golden"
DIGEST = "sha256:" + "3f" * 32

# The only apiVersion each kind may be rendered with (the versions served by Kubernetes >= 1.25).
API_VERSIONS = {
    "Namespace": "v1",
    "ResourceQuota": "v1",
    "LimitRange": "v1",
    "NetworkPolicy": "networking.k8s.io/v1",
    "ServiceAccount": "v1",
    "ConfigMap": "v1",
    "Secret": "v1",
    "Deployment": "apps/v1",
    "StatefulSet": "apps/v1",
    "Service": "v1",
    "Ingress": "networking.k8s.io/v1",
    "HorizontalPodAutoscaler": "autoscaling/v2",
}


def dev_env(**overrides) -> EnvironmentSpec:
    """Two components with config, secrets, an Ingress and an HPA; MariaDB, Redis and S3 backing."""
    spec = EnvironmentSpec(
        name="shop-dev",
        namespace="shop-dev",
        team="payments",
        owner="jane.doe@example.com",
        stage="dev",
        revision=7,
        hostname="shop-dev.envs.example.com",
        components=(
            ComponentSpec(
                name="web",
                image="registry.example.com/shop/web",
                tag="1.4.2",
                env=(("LOG_LEVEL", "debug"), ("API_URL", "http://api")),
                secret_env=(("SESSION_KEY", "web-session-key-1"),),
                autoscaling_min=2,
                autoscaling_max=6,
                autoscaling_cpu_percent=60,
            ),
            ComponentSpec(
                name="api",
                image="registry.example.com/shop/api",
                tag="2.0.0-rc.1",
                port=9000,
                health_path="/ready",
                env=(("DATABASE_HOST", "db"), ("REDIS_HOST", "cache")),
                secret_env=(("DATABASE_PASSWORD", "db-pass-1"),),
                command=("/app/api",),
                args=("--listen", ":9000"),
                replicas=2,
                cpu_limit="1",
                memory_limit="1Gi",
                ingress_path="/api",
            ),
        ),
        backing_services=(
            BackingServiceSpec(kind="mariadb", name="db", version="11.4", storage="5Gi", password="db-root-1"),
            BackingServiceSpec(kind="redis", name="cache"),
            BackingServiceSpec(kind="s3", name="media"),
        ),
    )
    return dataclasses.replace(spec, **overrides)


def prod_env() -> EnvironmentSpec:
    """Production: digest-pinned image, managed backing services (nothing in-cluster)."""
    return EnvironmentSpec(
        name="shop-prod",
        namespace="shop-prod",
        team="payments",
        owner="platform-team",
        stage="prod",
        revision=42,
        hostname="shop.example.com",
        components=(
            ComponentSpec(
                name="web",
                image="123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/web",
                tag="1.4.2",
                digest=DIGEST,
                env=(("LOG_LEVEL", "info"),),
                replicas=3,
                cpu_request="250m",
                memory_request="256Mi",
                cpu_limit="1",
                memory_limit="1Gi",
            ),
            ComponentSpec(name="worker", image="123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/worker",
                          tag="1.4.2", digest=DIGEST, port=None, replicas=2),
        ),
        backing_services=(
            BackingServiceSpec(kind="mariadb", name="db", password="never-rendered"),
            BackingServiceSpec(kind="redis", name="cache"),
            BackingServiceSpec(kind="s3", name="media"),
        ),
        in_cluster_backing=False,
        quota_cpu="32",
        quota_memory="64Gi",
        quota_cpu_limit="64",
        quota_memory_limit="128Gi",
        quota_pods=200,
    )


def blue_green_env(colour: str = "green", active: str = "blue") -> EnvironmentSpec:
    """Staging, rendering the green colour while the Services still route to blue."""
    return EnvironmentSpec(
        name="checkout-staging",
        namespace="checkout-staging",
        team="checkout",
        owner="qa.lead@example.com",
        stage="staging",
        revision=12,
        hostname="checkout-staging.envs.example.com",
        components=(
            ComponentSpec(name="web", image="registry.example.com/checkout/web", tag="3.1.0",
                          env=(("FEATURE_X", "on"),), autoscaling_min=1, autoscaling_max=4),
        ),
        colour=colour,
        active_colour=active,
    )


SCENARIOS = {"dev-two-components": dev_env, "prod-digest-pinned": prod_env, "blue-green": blue_green_env}


def kinds(manifests, kind):
    return [m for m in manifests if m["kind"] == kind]


def one(manifests, kind, name):
    [found] = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    return found


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_golden(scenario):
    rendered = to_yaml(render(SCENARIOS[scenario]()))
    path = GOLDEN_DIR / f"{scenario}.yaml"
    if os.environ.get("SLIPWAY_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(rendered)
    expected = path.read_text() if path.exists() else ""
    if rendered != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), rendered.splitlines(True),
                                            fromfile=f"golden/{scenario}.yaml", tofile="rendered"))
        pytest.fail(f"rendered manifests differ from {path} (SLIPWAY_UPDATE_GOLDEN=1 to accept):\n{diff}")


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_render_is_deterministic(scenario):
    assert to_yaml(render(SCENARIOS[scenario]())) == to_yaml(render(SCENARIOS[scenario]()))
    # Equal specs built separately (not the same object) render identically too.
    assert render(SCENARIOS[scenario]()) == render(dataclasses.replace(SCENARIOS[scenario]()))


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_object_carries_managed_by_and_environment_labels(scenario):
    spec = SCENARIOS[scenario]()
    for manifest in render(spec):
        labels = manifest["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "slipway", object_key(manifest)
        assert labels["slipway.io/environment"] == spec.name, object_key(manifest)
        assert all(is_label_value(v) for v in labels.values()), labels
        if manifest["kind"] != "Namespace":
            assert manifest["metadata"]["namespace"] == spec.namespace


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_api_versions_order_and_keys(scenario):
    manifests = render(SCENARIOS[scenario]())
    assert manifests[0]["kind"] == "Namespace"
    for manifest in manifests:
        assert API_VERSIONS[manifest["kind"]] == manifest["apiVersion"]
    order = [(KIND_ORDER.index(m["kind"]), m["metadata"]["name"]) for m in manifests]
    assert order == sorted(order)
    assert len({object_key(m) for m in manifests}) == len(manifests)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_objects_match_the_kubernetes_openapi_models(scenario):
    """Each object survives a round trip through the kubernetes client's models unchanged.

    Deserializing checks required fields and types; comparing the re-serialized object with the
    original catches misspelled or misplaced fields, which the models would silently drop.
    """
    api = k8s.ApiClient()
    for manifest in render(SCENARIOS[scenario]()):
        version = manifest["apiVersion"].rsplit("/", 1)[-1]
        model = version[0].upper() + version[1:] + manifest["kind"]
        parsed = api.deserialize(json.dumps(manifest), model, "application/json")
        assert api.sanitize_for_serialization(parsed) == manifest, object_key(manifest)


def test_revision_goes_into_workload_annotations_only():
    before, after = render(dev_env(revision=7)), render(dev_env(revision=8))
    assert [object_key(m) for m in before] == [object_key(m) for m in after]
    changed = [object_key(b) for b, a in zip(before, after, strict=True) if a != b]
    assert {key[1] for key in changed} == {"Deployment", "StatefulSet"}
    for manifest in after:
        if manifest["kind"] in {"Deployment", "StatefulSet"}:
            assert manifest["metadata"]["annotations"]["slipway.io/revision"] == "8"
            assert "slipway.io/revision" not in manifest["spec"]["template"]["metadata"].get("annotations", {})


def test_config_checksum_rolls_pods_without_revealing_secrets():
    def checksum(spec):
        return one(render(spec), "Deployment", "web")["spec"]["template"]["metadata"]["annotations"][
            "slipway.io/config-checksum"]

    base = dev_env()
    web = base.components[0]
    rotated = dataclasses.replace(web, secret_env=(("SESSION_KEY", "rotated-value-2"),))
    reconfigured = dataclasses.replace(web, env=(("LOG_LEVEL", "info"), ("API_URL", "http://api")))
    reordered = dataclasses.replace(web, env=tuple(reversed(web.env)))
    with_secret = dataclasses.replace(base, components=(rotated, base.components[1]))
    assert checksum(with_secret) != checksum(base)
    assert checksum(dataclasses.replace(base, components=(reconfigured, base.components[1]))) != checksum(base)
    assert checksum(dataclasses.replace(base, components=(reordered, base.components[1]))) == checksum(base)
    for manifest in render(with_secret):
        for where in (manifest["metadata"], manifest.get("spec", {}).get("template", {}).get("metadata", {})):
            assert "rotated-value-2" not in json.dumps(where.get("annotations", {}))
    # The secret value lives only in the Secret object itself.
    holders = [object_key(m) for m in render(with_secret) if "rotated-value-2" in json.dumps(m)]
    assert holders == [("v1", "Secret", "shop-dev", "web-secret")]


def test_component_objects():
    manifests = render(dev_env())
    web, api = one(manifests, "Deployment", "web"), one(manifests, "Deployment", "api")
    assert "replicas" not in web["spec"]  # the HPA owns the scale
    assert api["spec"]["replicas"] == 2
    assert web["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    assert web["spec"]["revisionHistoryLimit"] == 5
    assert web["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/name": "web"}}
    pod = api["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "shop-dev-app"
    [container] = pod["containers"]
    assert container["image"] == "registry.example.com/shop/api:2.0.0-rc.1"
    assert container["command"] == ["/app/api"] and container["args"] == ["--listen", ":9000"]
    assert container["envFrom"] == [{"configMapRef": {"name": "api-config"}}, {"secretRef": {"name": "api-secret"}}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["ports"] == [{"name": "http", "containerPort": 9000, "protocol": "TCP"}]
    assert one(manifests, "ConfigMap", "api-config")["data"] == {"DATABASE_HOST": "db", "REDIS_HOST": "cache"}
    secret = one(manifests, "Secret", "api-secret")
    assert secret["type"] == "Opaque" and secret["stringData"] == {"DATABASE_PASSWORD": "db-pass-1"}
    assert one(manifests, "ServiceAccount", "shop-dev-app")["automountServiceAccountToken"] is False
    hpa = one(manifests, "HorizontalPodAutoscaler", "web")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"], hpa["scaleTargetRef"]["name"]) == (2, 6, "web")
    assert kinds(manifests, "HorizontalPodAutoscaler") == [one(manifests, "HorizontalPodAutoscaler", "web")]
    service = one(manifests, "Service", "api")["spec"]
    assert service["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    ingress = one(manifests, "Ingress", "shop-dev")["spec"]
    assert ingress["ingressClassName"] == "nginx"
    assert [(p["path"], p["backend"]["service"]["name"]) for p in ingress["rules"][0]["http"]["paths"]] == [
        ("/api", "api"), ("/", "web")]


def test_component_without_port_has_no_service_probes_or_ingress_path():
    manifests = render(prod_env())
    [container] = one(manifests, "Deployment", "worker")["spec"]["template"]["spec"]["containers"]
    assert not {"ports", "readinessProbe", "livenessProbe", "envFrom"} & set(container)
    assert [m["metadata"]["name"] for m in kinds(manifests, "Service")] == ["web"]
    paths = one(manifests, "Ingress", "shop-prod")["spec"]["rules"][0]["http"]["paths"]
    assert [p["backend"]["service"]["name"] for p in paths] == ["web"]


def test_no_ingress_without_hostname():
    assert not kinds(render(dev_env(hostname="")), "Ingress")


def test_digest_pins_the_image_and_prod_renders_no_backing_objects():
    manifests = render(prod_env())
    [container] = one(manifests, "Deployment", "web")["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/web@{DIGEST}"
    assert not kinds(manifests, "StatefulSet")
    assert "never-rendered" not in to_yaml(manifests)
    assert {m["metadata"]["name"] for m in kinds(manifests, "Service")} == {"web"}


def test_backing_services():
    manifests = render(dev_env())
    db = one(manifests, "StatefulSet", "db")["spec"]
    [container] = db["template"]["spec"]["containers"]
    assert container["image"] == "mariadb:11.4"
    assert container["ports"][0]["containerPort"] == 3306
    assert container["env"] == [{"name": "MARIADB_ROOT_PASSWORD", "valueFrom": {
        "secretKeyRef": {"name": "db-credentials", "key": "password"}}}]
    assert db["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert one(manifests, "Secret", "db-credentials")["stringData"] == {"password": "db-root-1"}
    assert one(manifests, "Service", "db")["spec"]["clusterIP"] == "None"
    [redis] = one(manifests, "StatefulSet", "cache")["spec"]["template"]["spec"]["containers"]
    assert redis["image"] == "redis:7.2" and redis["ports"][0]["containerPort"] == 6379
    assert one(manifests, "Service", "cache")["spec"]["ports"][0]["port"] == 6379
    assert not [m for m in manifests if m["metadata"]["name"].startswith("media")]  # s3 is never in-cluster


def test_mariadb_credentials_secret_only_when_a_password_is_given():
    no_password = dev_env(backing_services=(BackingServiceSpec(kind="mariadb", name="db"),))
    manifests = render(no_password)
    assert not [m for m in kinds(manifests, "Secret") if m["metadata"]["name"] == "db-credentials"]
    [container] = one(manifests, "StatefulSet", "db")["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "mariadb:11.4"  # default version
    assert container["env"][0]["valueFrom"]["secretKeyRef"]["name"] == "db-credentials"


def test_namespace_policy_objects():
    manifests = render(prod_env())
    quota = one(manifests, "ResourceQuota", "quota")["spec"]["hard"]
    assert quota == {"requests.cpu": "32", "requests.memory": "64Gi", "limits.cpu": "64",
                     "limits.memory": "128Gi", "pods": "200"}
    defaults = render(dev_env())
    assert one(defaults, "ResourceQuota", "quota")["spec"]["hard"]["limits.cpu"] == "8"
    policy = one(manifests, "NetworkPolicy", "deny-cross-namespace")["spec"]
    assert policy["podSelector"] == {} and policy["policyTypes"] == ["Ingress"]
    assert policy["ingress"] == [
        {"from": [{"podSelector": {}}]},
        {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]},
    ]
    assert one(manifests, "LimitRange", "defaults")["spec"]["limits"][0]["type"] == "Container"


def test_namespace_labels_sanitize_an_email_owner():
    namespace = render(dev_env(owner="Jane.Doe+envs@Example.com"))[0]
    assert namespace["kind"] == "Namespace" and "namespace" not in namespace["metadata"]
    assert namespace["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "slipway",
        "slipway.io/environment": "shop-dev",
        "slipway.io/team": "payments",
        "slipway.io/owner": "Jane.Doe-envs-Example.com",
        "slipway.io/stage": "dev",
    }
    assert namespace["metadata"]["annotations"]["slipway.io/owner"] == "Jane.Doe+envs@Example.com"


@pytest.mark.parametrize(("raw", "expected"), [
    ("jane.doe@example.com", "jane.doe-example.com"),
    ("_under_", "under"),
    ("@@@", ""),
    ("ok-value_1.2", "ok-value_1.2"),
])
def test_sanitize_label_value(raw, expected):
    assert sanitize_label_value(raw) == expected


def test_sanitize_label_value_keeps_long_values_distinct():
    first, second = "a" * 70 + "@example.com", "a" * 70 + "@example.org"
    assert sanitize_label_value(first) != sanitize_label_value(second)
    for value in (first, second, "x" * 62 + ".-" + "y" * 10):
        assert is_label_value(sanitize_label_value(value))
        assert len(sanitize_label_value(value)) <= 63


def test_blue_green_workloads_are_coloured_and_services_select_the_active_colour():
    manifests = render(blue_green_env(colour="green", active="blue"))
    deployment = one(manifests, "Deployment", "web-green")
    assert deployment["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "web",
                                                             "slipway.io/colour": "green"}
    assert deployment["spec"]["template"]["metadata"]["labels"]["slipway.io/colour"] == "green"
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["envFrom"] == [{"configMapRef": {"name": "web-green-config"}}]
    assert one(manifests, "HorizontalPodAutoscaler", "web-green")["spec"]["scaleTargetRef"]["name"] == "web-green"
    assert one(manifests, "Service", "web")["spec"]["selector"] == {"app.kubernetes.io/name": "web",
                                                                    "slipway.io/colour": "blue"}
    switched = render(blue_green_env(colour="green", active="green"))
    assert one(switched, "Service", "web")["spec"]["selector"]["slipway.io/colour"] == "green"
    # Without an explicit active colour the rendered colour is the one served.
    first = render(blue_green_env(colour="blue", active=""))
    assert one(first, "Service", "web")["spec"]["selector"]["slipway.io/colour"] == "blue"
    plain = render(dev_env())
    assert "slipway.io/colour" not in one(plain, "Service", "web")["spec"]["selector"]


def _component(**fields):
    return ComponentSpec(**{"name": "web", "image": "registry.example.com/web", "tag": "1.0", **fields})


@pytest.mark.parametrize(("overrides", "message"), [
    ({"name": "Shop_Dev"}, "environment name 'Shop_Dev'"),
    ({"name": "a" * 64}, "environment name"),
    ({"namespace": "-shop"}, "namespace '-shop'"),
    ({"namespace": ""}, "namespace ''"),
    ({"stage": "production"}, "stage 'production'"),
    ({"revision": -1}, "revision -1"),
    ({"colour": "red"}, "colour 'red'"),
    ({"active_colour": "blue"}, "active_colour 'blue' is set but colour is not"),
    ({"colour": "blue", "active_colour": "purple"}, "active_colour 'purple'"),
    ({"hostname": "Shop.Example.com"}, "hostname"),
    ({"quota_memory": "16 GB"}, "quota_memory"),
    ({"components": (_component(), _component())}, "duplicate component 'web'"),
    ({"components": (_component(name="web.app"),)}, "component name 'web.app'"),
    ({"components": (_component(name="1web"),)}, "component name '1web'"),
    ({"components": (_component(name="db"),), "backing_services": (BackingServiceSpec(kind="redis", name="db"),)},
     "component 'db' has the same name as a backing service"),
    ({"components": (_component(autoscaling_min=5, autoscaling_max=2),)},
     "autoscaling_min 5 is greater than autoscaling_max 2"),
    ({"components": (_component(autoscaling_min=2),)}, "set both autoscaling_min and autoscaling_max"),
    ({"components": (_component(image="registry.example.com/web:1.0"),)}, "must be a repository without tag"),
    ({"components": (_component(digest="sha256:nothex"),)}, "digest"),
    ({"components": (_component(tag=""),)}, "tag ''"),
    ({"components": (_component(port=70000),)}, "port 70000"),
    ({"components": (_component(cpu_limit="lots"),)}, "cpu_limit"),
    ({"components": (_component(env=(("A", "1"),), secret_env=(("A", "2"),)),)},
     "duplicate component 'web' environment variable 'A'"),
    ({"components": (_component(env=(("BAD KEY", "1"),)),)}, "'BAD KEY' is not valid"),
    ({"components": (_component(), _component(name="api"))}, "duplicate ingress path '/'"),
    ({"backing_services": (BackingServiceSpec(kind="postgres", name="pg"),)}, "kind 'postgres'"),
    ({"backing_services": (BackingServiceSpec(kind="redis", name="Cache"),)}, "backing service name 'Cache'"),
    ({"backing_services": (BackingServiceSpec(kind="redis", name="c"), BackingServiceSpec(kind="redis", name="c"))},
     "duplicate backing service 'c'"),
    ({"backing_services": (BackingServiceSpec(kind="redis", name="c" * 53),)}, "at most 52 characters"),
])
def test_render_rejects_invalid_specs(overrides, message):
    base = {"components": (), "backing_services": ()}
    with pytest.raises(RenderError, match=re.escape(message)) as raised:
        render(dev_env(**{**base, **overrides}))
    assert isinstance(raised.value, ValueError)


def test_render_is_pure_python_without_django():
    """The renderer must be usable (and testable) without Django settings, a database or a network."""
    code = ("import sys, environments.render as r; "
            "assert not [m for m in sys.modules if m == 'django' or m.startswith('django.')], 'django imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2],
                   env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"})


def test_rendered_objects_are_independent_plain_data():
    manifests = render(dev_env())
    web = one(manifests, "Deployment", "web")
    web["metadata"]["labels"]["mutated"] = "yes"
    assert "mutated" not in web["spec"]["template"]["metadata"]["labels"]
    assert "&id" not in to_yaml(manifests)  # no YAML anchors/aliases in what humans read
    assert to_yaml([]) == ""


def test_backing_services_use_empty_dir_without_persistent_storage():
    import dataclasses

    spec = dataclasses.replace(_render_probe_spec(), persistent_backing=False)
    statefulsets = [m for m in render(spec) if m["kind"] == "StatefulSet"]
    assert statefulsets
    for sts in statefulsets:
        assert "volumeClaimTemplates" not in sts["spec"]
        assert sts["spec"]["template"]["spec"]["volumes"] == [{"name": "data", "emptyDir": {"sizeLimit": "1Gi"}}]


def _render_probe_spec():
    from environments.render.spec import BackingServiceSpec, ComponentSpec, EnvironmentSpec

    return EnvironmentSpec(name="probe", namespace="slw-probe", team="t", owner="o", stage="qa", revision=1,
                           components=(ComponentSpec(name="web", image="example.test/web", tag="1"),),
                           backing_services=(BackingServiceSpec(kind="mariadb", name="db", password="x"),
                                             BackingServiceSpec(kind="redis", name="cache")))


def test_every_pod_leaves_a_failed_node_after_the_eviction_seconds():
    manifests = render(dev_env(node_eviction_seconds=7))
    templates = [m["spec"]["template"]["spec"] for m in manifests if m["kind"] in ("Deployment", "StatefulSet")]
    assert {m["kind"] for m in manifests} >= {"Deployment", "StatefulSet"}
    for pod_spec in templates:
        assert sorted((t["key"], t["effect"], t["tolerationSeconds"]) for t in pod_spec["tolerations"]) == [
            ("node.kubernetes.io/not-ready", "NoExecute", 7), ("node.kubernetes.io/unreachable", "NoExecute", 7)]
    with pytest.raises(RenderError, match="node_eviction_seconds -1 must not be negative"):
        render(dev_env(node_eviction_seconds=-1))
