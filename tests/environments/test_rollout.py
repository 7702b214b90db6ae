"""Environment create → rollout on the real local control plane."""

import time
from pathlib import Path

import pytest
from django.core.management import call_command
from kubernetes import client as k8s

from clusters.kube.wait import wait_ready
from clusters.services import cluster_register
from environments.models import Blueprint, Component, Environment
from environments.services import environment_create
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent

pytestmark = [pytest.mark.integration]
VERSIONS = {"web": "1.5.0", "api": "2.1.0", "worker": "2.0.1"}


@pytest.fixture
def local_cluster(db, kubeconfig_path, settings):
    settings.SLIPWAY_ROLLOUT_TIMEOUT_SECONDS = 90
    call_command("seed_demo_blueprint", verbosity=0)
    return cluster_register(actor=Actor.system("test"), name="local", kind="local",
                            kubeconfig=Path(kubeconfig_path).read_text(), make_default=True)


def create(user, team, cluster, name, **overrides):
    kwargs = {"stage": "qa", "versions": dict(VERSIONS)} | overrides
    return environment_create(actor=Actor.for_user(user), user=user, cluster=cluster,
                              blueprint=Blueprint.objects.get(name="shop"), name=name, team=team, **kwargs)


def test_create_rolls_out_to_ready(users, team, local_cluster, kube_client, cleanup_namespaces,
                                   django_capture_on_commit_callbacks):
    cleanup_namespaces.append("slw-it-ready")
    with django_capture_on_commit_callbacks(execute=True):
        environment = create(users["qa"], team, local_cluster, "it-ready")
    environment.refresh_from_db()
    job = environment.rollouts.get().job
    assert environment.status == "ready", (environment.status_message, job.error)
    assert job.state == "succeeded" and job.progress == 100
    apps = k8s.AppsV1Api(kube_client)
    deployments = {d.metadata.name: d for d in apps.list_namespaced_deployment("slw-it-ready").items}
    assert set(deployments) == {"web", "api", "worker"}
    assert deployments["web"].spec.template.spec.containers[0].image == "registry.example.com/shop/web:1.5.0"
    assert all(d.status.ready_replicas == d.spec.replicas for d in deployments.values())
    assert {s.metadata.name for s in apps.list_namespaced_stateful_set("slw-it-ready").items} == {"db", "cache"}
    pods = k8s.CoreV1Api(kube_client).list_namespaced_pod("slw-it-ready").items
    assert pods and all(any(c.type == "Ready" and c.status == "True" for c in p.status.conditions) for p in pods)
    namespace = k8s.CoreV1Api(kube_client).read_namespace("slw-it-ready")
    assert namespace.metadata.labels["slipway.io/environment"] == "it-ready"
    secret = k8s.CoreV1Api(kube_client).read_namespaced_secret("db-credentials", "slw-it-ready")
    assert secret.data["password"]  # generated, stored encrypted in Slipway, never in the snapshot
    assert "password" not in str(environment.current_revision.snapshot)
    log = "\n".join(job.events.filter(kind="log").values_list("text", flat=True))
    assert "Deployment/web: created" in log and "is ready" in log
    assert AuditEvent.objects.filter(action="environment.ready", object_id=str(environment.pk)).exists()
    from django.test import Client

    browser = Client()
    browser.force_login(users["qa"])
    page = browser.get(f"/environments/{environment.pk}/").content.decode()
    assert 'data-ready="web">1/1<' in page and "Deployment/web" in page
    assert "ScalingReplicaSet" in page  # recent namespace events, from the API server


def test_quota_failure_is_reported_on_the_environment(users, team, local_cluster, cleanup_namespaces,
                                                      django_capture_on_commit_callbacks):
    cleanup_namespaces.append("slw-it-quota")
    Component.objects.filter(name="web").update(replicas=4, cpu_request="3", cpu_limit="3")
    with django_capture_on_commit_callbacks(execute=True):
        environment = create(users["qa"], team, local_cluster, "it-quota")
    environment.refresh_from_db()
    job = environment.rollouts.get().job
    assert environment.status == Environment.FAILED
    assert "exceeded quota" in environment.status_message
    assert job.state == "failed" and "exceeded quota" in job.error
    assert AuditEvent.objects.get(action="job.failed").outcome == "failure"


def test_update_versions_rollback_and_destroy(users, team, local_cluster, kube_client, cleanup_namespaces,
                                              django_capture_on_commit_callbacks, api_for):
    from environments.services import environment_destroy, environment_rollback, environment_update_versions

    cleanup_namespaces.append("slw-it-update")
    actor, qa = Actor.for_user(users["qa"]), users["qa"]
    with django_capture_on_commit_callbacks(execute=True):
        environment = create(qa, team, local_cluster, "it-update")
    apps = k8s.AppsV1Api(kube_client)
    first_rs = {rs.metadata.name for rs in apps.list_namespaced_replica_set("slw-it-update",
                                                                           label_selector="app.kubernetes.io/name=web").items}
    with django_capture_on_commit_callbacks(execute=True):
        rollout = environment_update_versions(actor=actor, user=qa, environment=environment,
                                              versions={"web": "1.6.0-rc1"}, message="try rc")
    environment.refresh_from_db()
    rollout.job.refresh_from_db()
    assert rollout.job.state == "succeeded", rollout.job.error
    assert environment.status == "ready" and environment.current_revision.number == 2
    web = apps.read_namespaced_deployment("web", "slw-it-update")
    assert web.spec.template.spec.containers[0].image.endswith("web:1.6.0-rc1")
    replica_sets = apps.list_namespaced_replica_set("slw-it-update", label_selector="app.kubernetes.io/name=web").items
    new = [rs for rs in replica_sets if rs.metadata.name not in first_rs]
    old = [rs for rs in replica_sets if rs.metadata.name in first_rs]
    assert len(new) == 1 and new[0].status.ready_replicas == 1
    assert old and all(rs.spec.replicas == 0 for rs in old)
    diff = api_for(qa).get(f"/api/v1/environments/{environment.pk}/diff/", {"from": 1, "to": 2}).json()
    assert diff == [{"component": "web", "field": "tag", "before": "1.5.0", "after": "1.6.0-rc1"}]

    with django_capture_on_commit_callbacks(execute=True):
        environment_rollback(actor=actor, user=qa, environment=environment, number=1)
    environment.refresh_from_db()
    assert environment.current_revision.number == 3 and environment.current_revision.message == "rollback to r1"
    assert apps.read_namespaced_deployment("web", "slw-it-update").spec.template.spec.containers[0].image.endswith(
        "web:1.5.0")
    history = api_for(qa).get(f"/api/v1/environments/{environment.pk}/revisions/").json()
    assert [(r["number"], r["versions"]["web"]) for r in history] == [(3, "1.5.0"), (2, "1.6.0-rc1"), (1, "1.5.0")]

    with django_capture_on_commit_callbacks(execute=True):
        job = environment_destroy(actor=actor, user=qa, environment=environment)
    environment.refresh_from_db()
    job.refresh_from_db()
    assert (environment.status, job.state) == ("destroyed", "succeeded"), job.error
    names = {ns.metadata.name for ns in k8s.CoreV1Api(kube_client).list_namespace().items}
    assert "slw-it-update" not in names
    actions = list(AuditEvent.objects.filter(object_id=str(environment.pk), object_type="environments.environment")
                   .order_by("id").values_list("action", flat=True))
    for expected in ("environment.create", "environment.update_versions", "environment.rollback",
                     "environment.destroy", "environment.destroyed"):
        assert expected in actions
    # The name is free again once the environment is destroyed.
    with django_capture_on_commit_callbacks(execute=True):
        again = create(qa, team, local_cluster, "it-update")
    assert again.pk != environment.pk


def test_ttl_reaper_destroys_expired_environments(users, team, local_cluster, kube_client, cleanup_namespaces,
                                                  django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from environments.tasks import expire

    cleanup_namespaces.append("slw-it-expire")
    with django_capture_on_commit_callbacks(execute=True):
        environment = create(users["qa"], team, local_cluster, "it-expire", ttl_hours=1)
    # An hour before expiry the owner is told (audit event + dashboard notice); nothing is destroyed.
    with django_capture_on_commit_callbacks(execute=True):
        assert expire() == []
    notice = AuditEvent.objects.get(action="environment.expiry_notice", object_id=str(environment.pk))
    assert notice.details["owner"] == "qa" and notice.actor_name == "system:ttl-reaper"
    from django.test import Client

    browser = Client()
    browser.force_login(users["qa"])
    assert b"Expiring soon" in browser.get("/").content
    # Expired, but notified only just now: the grace period still protects it.
    Environment.objects.filter(pk=environment.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert expire() == []
    Environment.objects.filter(pk=environment.pk).update(expiry_notified_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert expire() == [environment.pk]
    environment.refresh_from_db()
    assert environment.status == "destroyed"
    event = AuditEvent.objects.get(action="environment.destroy", object_id=str(environment.pk))
    assert (event.actor_name, event.actor_kind) == ("system:ttl-reaper", "system")
    with django_capture_on_commit_callbacks(execute=True):
        assert expire() == []  # idempotent


def test_clone_and_promote(users, team, local_cluster, kube_client, cleanup_namespaces,
                           django_capture_on_commit_callbacks, api_for):
    cleanup_namespaces.extend(["slw-it-qa", "slw-it-staging", "slw-it-clone"])
    qa = users["qa"]
    with django_capture_on_commit_callbacks(execute=True):
        source = create(qa, team, local_cluster, "it-qa")
        target = create(qa, team, local_cluster, "it-staging", stage="staging")
    client = api_for(qa)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/api/v1/environments/{source.pk}/versions/", {"versions": {"api": "2.0.1"}}, format="json")
    preview = client.get(f"/api/v1/environments/{target.pk}/promote/", {"source": source.pk}).json()
    assert preview == [{"component": "api", "field": "tag", "before": "2.1.0", "after": "2.0.1"}]
    with django_capture_on_commit_callbacks(execute=True):
        promoted = client.post(f"/api/v1/environments/{target.pk}/promote/", {"source": source.pk}, format="json")
    assert promoted.status_code == 202, promoted.json()
    target.refresh_from_db()
    assert target.status == "ready" and target.current_revision.message == "promoted from it-qa r2"
    image = k8s.AppsV1Api(kube_client).read_namespaced_deployment("api", "slw-it-staging").spec.template.spec
    assert image.containers[0].image.endswith("api:2.0.1")
    with django_capture_on_commit_callbacks(execute=True):
        cloned = client.post(f"/api/v1/environments/{source.pk}/clone/", {"name": "it-clone", "team": "payments"},
                             format="json")
    assert cloned.status_code == 201, cloned.json()
    assert cloned.json()["versions"] == {"web": "1.5.0", "api": "2.0.1", "worker": "2.0.1"}
    assert Environment.objects.get(name="it-clone").status == "ready"
    assert AuditEvent.objects.filter(action="environment.clone").exists()
    assert AuditEvent.objects.filter(action="environment.promote").exists()


def test_drift_detected_and_reconciled(users, team, local_cluster, kube_client, cleanup_namespaces,
                                       django_capture_on_commit_callbacks, api_for):
    cleanup_namespaces.append("slw-it-drift")
    with django_capture_on_commit_callbacks(execute=True):
        environment = create(users["qa"], team, local_cluster, "it-drift")
    client = api_for(users["qa"])
    assert client.post(f"/api/v1/environments/{environment.pk}/drift-check/").json()["drift"] == []
    k8s.AppsV1Api(kube_client).patch_namespaced_deployment_scale("web", "slw-it-drift", {"spec": {"replicas": 4}},
                                                                 field_manager="kubectl-scale")
    drift = client.post(f"/api/v1/environments/{environment.pk}/drift-check/").json()["drift"]
    assert [(d["key"][1], d["key"][3], d["state"]) for d in drift] == [("Deployment", "web", "changed")]
    assert drift[0]["changes"] == [{"path": "spec.replicas", "desired": 1, "live": 4}]
    assert drift[0]["changed_by"] == ["kubectl-scale"]
    listed = client.get("/api/v1/environments/", {"status": "drifted"}).json()["results"]
    assert [e["name"] for e in listed] == ["it-drift"]
    reconciled = client.post(f"/api/v1/environments/{environment.pk}/reconcile/")
    assert reconciled.status_code == 200 and reconciled.json()["drift"] == []
    assert k8s.AppsV1Api(kube_client).read_namespaced_deployment("web", "slw-it-drift").spec.replicas == 1
    checks = AuditEvent.objects.filter(action="environment.drift_check", object_id=str(environment.pk))
    assert checks.count() == 3 and any(e.details.get("changed_by") == ["kubectl-scale"] for e in checks)
    assert AuditEvent.objects.filter(action="environment.reconcile", outcome="success").exists()
    denied = api_for(users["manager"]).post(f"/api/v1/environments/{environment.pk}/reconcile/")
    assert denied.status_code == 403


def test_blue_green_switch_and_switch_back(users, team, local_cluster, kube_client, cleanup_namespaces,
                                           django_capture_on_commit_callbacks, api_for):
    cleanup_namespaces.append("slw-it-bg")
    ns, client = "slw-it-bg", api_for(users["qa"])
    apps, core = k8s.AppsV1Api(kube_client), k8s.CoreV1Api(kube_client)
    with django_capture_on_commit_callbacks(execute=True):
        environment = create(users["qa"], team, local_cluster, "it-bg", strategy="bluegreen")
    environment.refresh_from_db()
    assert (environment.status, environment.active_colour) == ("ready", "blue")
    assert core.read_namespaced_service("web", ns).spec.selector["slipway.io/colour"] == "blue"
    # A new revision deploys beside the live one; the Services keep serving blue.
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/v1/environments/{environment.pk}/versions/",
                           {"versions": {"web": "1.6.0-rc1"}}, format="json").status_code == 202
    environment.refresh_from_db()
    assert environment.status == "ready", environment.status_message
    names = {d.metadata.name: d for d in apps.list_namespaced_deployment(ns).items}
    assert {"web-blue", "web-green"} <= set(names)
    assert names["web-blue"].spec.template.spec.containers[0].image.endswith("web:1.5.0")
    assert names["web-green"].spec.template.spec.containers[0].image.endswith("web:1.6.0-rc1")
    assert core.read_namespaced_service("web", ns).spec.selector["slipway.io/colour"] == "blue"
    # Switch, then switch back: only the Services' selectors move.
    switched = client.post(f"/api/v1/environments/{environment.pk}/switch/")
    assert switched.status_code == 200 and switched.json()["active_colour"] == "green"
    assert core.read_namespaced_service("web", ns).spec.selector["slipway.io/colour"] == "green"
    back = client.post(f"/api/v1/environments/{environment.pk}/switch/")
    assert back.json()["active_colour"] == "blue"
    assert core.read_namespaced_service("web", ns).spec.selector["slipway.io/colour"] == "blue"
    # Forward again and retire blue.
    client.post(f"/api/v1/environments/{environment.pk}/switch/")
    assert client.post(f"/api/v1/environments/{environment.pk}/retire/").status_code == 200
    remaining = {d.metadata.name for d in apps.list_namespaced_deployment(ns).items
                 if not d.metadata.deletion_timestamp}
    assert "web-blue" not in remaining and "web-green" in remaining
    assert core.read_namespaced_service("web", ns).spec.selector["slipway.io/colour"] == "green"
    # Nothing left to switch back to: a clear refusal, no change.
    refused = client.post(f"/api/v1/environments/{environment.pk}/switch/")
    assert refused.status_code == 400 and "not deployed" in refused.json()["error"]["message"]
    assert [e.action for e in AuditEvent.objects.filter(action="environment.switch").order_by("id")] == [
        "environment.switch"] * 4


def test_blue_green_switch_refuses_a_colour_whose_rollout_is_unfinished(
        users, team, local_cluster, kube_client, cleanup_namespaces, django_capture_on_commit_callbacks, api_for):
    """The switch asks what a rollout asks (clusters.kube.readiness.deployment_ready): ready pods are
    not enough while the Deployment still runs the previous template's pods."""
    cleanup_namespaces.append("slw-it-bg-held")
    ns, client = "slw-it-bg-held", api_for(users["qa"])
    apps, core = k8s.AppsV1Api(kube_client), k8s.CoreV1Api(kube_client)
    with django_capture_on_commit_callbacks(execute=True):
        environment = create(users["qa"], team, local_cluster, "it-bg-held", strategy="bluegreen")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/v1/environments/{environment.pk}/versions/",
                           {"versions": {"web": "1.6.0-rc1"}}, format="json").status_code == 202
    environment.refresh_from_db()
    assert (environment.status, environment.active_colour) == ("ready", "blue"), environment.status_message
    # A paused Deployment with a changed template keeps its old, ready pods and makes no new ones:
    # ready 1/1, but 0 updated — a rollout that has not happened.
    apps.patch_namespaced_deployment("web-green", ns, {"spec": {"paused": True, "template": {"metadata": {
        "annotations": {"example.com/restarted": "held"}}}}}, field_manager="kubectl-rollout")
    deadline = time.monotonic() + 30
    while True:
        held = apps.read_namespaced_deployment("web-green", ns)
        if (held.status.observed_generation or 0) >= held.metadata.generation:
            break
        assert time.monotonic() < deadline, "the deployment controller did not observe the change"
        time.sleep(0.2)
    assert held.status.ready_replicas == held.spec.replicas and not held.status.updated_replicas
    refused = client.post(f"/api/v1/environments/{environment.pk}/switch/")
    assert refused.status_code == 400 and "web-green not ready" in refused.json()["error"]["message"]
    assert core.read_namespaced_service("web", ns).spec.selector["slipway.io/colour"] == "blue"
    # Once the rollout completes, the same switch goes through.
    apps.patch_namespaced_deployment("web-green", ns, {"spec": {"paused": False}}, field_manager="kubectl-rollout")
    wait_ready(kube_client, namespace=ns, deployments=["web-green"], timeout=60)
    switched = client.post(f"/api/v1/environments/{environment.pk}/switch/")
    assert switched.status_code == 200 and switched.json()["active_colour"] == "green"
    assert core.read_namespaced_service("web", ns).spec.selector["slipway.io/colour"] == "green"
