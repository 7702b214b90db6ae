"""Cluster add-ons: rendering (pure) and installation on the stack's real control plane."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from clusters.addon_manifests import ADDON_VERSIONS, ADDONS_DIR, AddonFacts, render_addon
from clusters.addons import install_addons
from clusters.models import Cluster
from clusters.services import cluster_register
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent

EKS_GROUPS = [
    {"name": "general", "instance_types": ["m5.large"], "min_size": 1, "max_size": 4, "desired_size": 2,
     "autoscaling_groups": ["eks-general-1"]},
    {"name": "spot", "instance_types": ["m5.xlarge"], "min_size": 0, "max_size": 6, "desired_size": 0,
     "autoscaling_groups": ["eks-spot-1"]},
]


def _by_kind(manifests, kind, name=None):
    found = [m for m in manifests if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)]
    assert found, f"no {kind} {name or ''}"
    return found[0]


def test_every_pinned_version_has_manifests():
    for addon, version in ADDON_VERSIONS.items():
        assert list((ADDONS_DIR / addon / version).glob("*.yaml")), addon


def test_fluent_bit_ships_to_the_agreed_log_group_and_stream_names():
    facts = AddonFacts(cluster_name="prod-eu", region="eu-west-1", role_arns={"fluent_bit": "arn:aws:iam::1:role/fb"})
    manifests = render_addon("fluent-bit", facts)
    conf = _by_kind(manifests, "ConfigMap", "fluent-bit")["data"]["fluent-bit.conf"]
    assert "Name                cloudwatch_logs" in conf
    assert "log_group_template  /slipway/prod-eu/$kubernetes['namespace_name']" in conf
    assert "log_stream_template $kubernetes['container_name']/$kubernetes['pod_name']" in conf
    assert "region              eu-west-1" in conf
    assert "endpoint" not in conf and "tls                 On" in conf  # real AWS: the regional endpoint
    account = _by_kind(manifests, "ServiceAccount", "fluent-bit")
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == "arn:aws:iam::1:role/fb"
    assert _by_kind(manifests, "DaemonSet")["spec"]["template"]["spec"]["serviceAccountName"] == "fluent-bit"


def test_fluent_bit_endpoint_override_points_at_an_emulator():
    facts = AddonFacts(cluster_name="local", region="us-east-1", cloudwatch_endpoint="http://127.0.0.1:55000")
    conf = _by_kind(render_addon("fluent-bit", facts), "ConfigMap")["data"]["fluent-bit.conf"]
    assert "endpoint            127.0.0.1\n" in conf and "port                55000" in conf and "tls                 Off" in conf


def test_cluster_autoscaler_gets_the_node_group_bounds():
    facts = AddonFacts(cluster_name="prod-eu", region="eu-west-1", node_groups=EKS_GROUPS,
                       role_arns={"cluster_autoscaler": "arn:aws:iam::1:role/ca"})
    manifests = render_addon("cluster-autoscaler", facts)
    command = _by_kind(manifests, "Deployment")["spec"]["template"]["spec"]["containers"][0]["command"]
    assert "--nodes=1:4:eks-general-1" in command and "--nodes=0:6:eks-spot-1" in command
    assert not [c for c in command if c.startswith("--node-group-auto-discovery")]
    without_asgs = [{k: v for k, v in g.items() if k != "autoscaling_groups"} for g in EKS_GROUPS]
    command = _by_kind(render_addon("cluster-autoscaler", AddonFacts(
        cluster_name="prod-eu", region="eu-west-1", node_groups=without_asgs)), "Deployment")
    args = command["spec"]["template"]["spec"]["containers"][0]["command"]
    assert ("--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,"
            "k8s.io/cluster-autoscaler/prod-eu") in args


def test_metrics_api_is_registered_except_on_the_local_control_plane():
    assert _by_kind(render_addon("metrics-server", AddonFacts(cluster_name="a", region="us-east-1")),
                    "APIService")["spec"]["service"] == {"name": "metrics-server", "namespace": "kube-system"}
    local = render_addon("metrics-server", AddonFacts(cluster_name="a", region="us-east-1",
                                                      register_metrics_api=False))
    assert not [m for m in local if m["kind"] == "APIService"]


@pytest.mark.parametrize(("name", "region"), [("Bad_Name", "us-east-1"), ("ok", "not a region")])
def test_facts_that_could_break_the_configuration_are_refused(name, region):
    with pytest.raises(ValueError, match="is not a"):
        AddonFacts(cluster_name=name, region=region)


@pytest.mark.integration
@pytest.mark.django_db
def test_install_addons_on_the_local_control_plane_converges(kubeconfig_path, kube_client, aws_settings):
    cluster = cluster_register(actor=Actor.system("test"), name="local", kind=Cluster.LOCAL,
                               kubeconfig=Path(kubeconfig_path).read_text())
    cluster.node_groups = [{"name": "kwok", "instance_types": ["m5.xlarge"], "min_size": 1, "max_size": 5,
                            "desired_size": 3}]
    cluster.save()
    first: list[str] = []
    install_addons(cluster, first.append)

    apps, core = k8s.AppsV1Api(kube_client), k8s.CoreV1Api(kube_client)
    assert apps.read_namespaced_deployment("ingress-nginx-controller", "ingress-nginx").spec.replicas == 2
    assert k8s.NetworkingV1Api(kube_client).read_ingress_class("nginx").spec.controller == "k8s.io/ingress-nginx"
    daemonset = apps.read_namespaced_daemon_set("fluent-bit", "slipway-logging")
    assert daemonset.spec.template.spec.containers[0].image == "cr.fluentbit.io/fluent/fluent-bit:3.2.10"
    conf = core.read_namespaced_config_map("fluent-bit", "slipway-logging").data["fluent-bit.conf"]
    assert "log_group_template  /slipway/local/$kubernetes['namespace_name']" in conf
    assert "endpoint            127.0.0.1" in conf  # the moto server the test stack runs
    assert apps.read_namespaced_deployment("metrics-server", "kube-system")
    node_groups = core.read_namespaced_config_map("slipway-node-groups", "kube-system").data["node-groups.json"]
    assert '"max_size": 5' in node_groups and '"min_size": 1' in node_groups
    with pytest.raises(ApiException) as missing:
        k8s.ApiregistrationV1Api(kube_client).read_api_service("v1beta1.metrics.k8s.io")
    assert missing.value.status == 404
    assert any("APIService is not registered" in line for line in first)

    cluster.refresh_from_db()
    assert {name: facts["version"] for name, facts in cluster.addons.items()} == ADDON_VERSIONS
    recorded = dict(cluster.addons)

    second: list[str] = []
    install_addons(cluster, second.append)
    summaries = [line for line in second if not line.startswith("  ")]
    assert len(summaries) == len(ADDON_VERSIONS) + 1
    assert all("unchanged" in line and "created" not in line and "configured" not in line
               for line in summaries[:-1]), second
    assert not [line for line in second if line.startswith("  ")], second
    cluster.refresh_from_db()
    assert cluster.addons == recorded  # nothing changed, so the install times stand
    assert AuditEvent.objects.filter(action="cluster.addons_install", outcome="success").count() == 2


class _Killed(Exception):
    pass


@pytest.mark.integration
@pytest.mark.django_db
def test_an_install_killed_half_way_converges_when_re_run(kubeconfig_path, aws_settings):
    cluster = cluster_register(actor=Actor.system("test"), name="local", kind=Cluster.LOCAL,
                               kubeconfig=Path(kubeconfig_path).read_text())

    def die_after_the_first_addon(line: str) -> None:
        if line.startswith("ingress-nginx"):
            raise _Killed(line)

    with pytest.raises(_Killed):
        install_addons(cluster, die_after_the_first_addon)
    cluster.refresh_from_db()
    assert list(cluster.addons) == ["metrics-server"]  # what was applied before the crash is recorded
    assert AuditEvent.objects.get(action="cluster.addons_install").outcome == "failure"
    lines: list[str] = []
    install_addons(cluster, lines.append)
    cluster.refresh_from_db()
    assert {name: facts["version"] for name, facts in cluster.addons.items()} == ADDON_VERSIONS


@pytest.mark.integration
@pytest.mark.django_db
def test_admins_install_addons_as_a_streamed_job(users, api_for, client, kubeconfig_path, aws_settings,
                                                 django_capture_on_commit_callbacks):
    from portal.jobs.models import Job

    cluster = cluster_register(actor=Actor.system("test"), name="local", kind=Cluster.LOCAL,
                               kubeconfig=Path(kubeconfig_path).read_text())
    refused = api_for(users["developer"]).post(f"/api/v1/clusters/{cluster.pk}/addons/")
    assert refused.status_code == 403 and not Job.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(users["admin"]).post(f"/api/v1/clusters/{cluster.pk}/addons/")
    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["id"])
    assert job.state == Job.SUCCEEDED and job.kind == "cluster-addons" and job.progress == 100
    output = "\n".join(job.events.values_list("text", flat=True))
    assert all(f"{name} {version}:" in output for name, version in ADDON_VERSIONS.items())
    cluster.refresh_from_db()
    assert set(cluster.addons) == set(ADDON_VERSIONS)
    client.force_login(users["admin"])
    page = client.get(f"/clusters/{cluster.pk}/").content.decode()
    assert "Re-apply add-ons" in page and ADDON_VERSIONS["fluent-bit"] in page
