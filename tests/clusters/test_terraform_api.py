"""Terraform use cases through the API and pages: permissions, validation, one run at a time, audit."""

import json
import re
import subprocess
import sys

import pytest
from django.core.exceptions import ValidationError

from clusters.models import Cluster, TerraformRun
from clusters.terraform import plan_changes, render_event
from clusters.terraform_jobs import HOST, reap_interrupted
from clusters.terraform_runs import terraform_run_start
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.jobs.models import Job
from tests.factories import UserFactory
from tests.racing import race


@pytest.fixture
def tf_cluster(db):
    return Cluster.objects.create(name="tf-1", kind="local", managed_by_terraform=True, status="ready",
                                  state_bucket="b", state_key="clusters/tf-1/terraform.tfstate",
                                  terraform_vars={"api_port": 56650})


@pytest.mark.django_db
def test_only_platform_admins_create_clusters(users, api_for, settings):
    settings.SLIPWAY_LOCAL_CLUSTER_PORTS = "56600-56699"
    body = {"name": "made-1", "kind": "local"}
    for role in ("manager", "developer", "qa"):
        response = api_for(users[role]).post("/api/v1/clusters/", body, format="json")
        assert response.status_code == 403, role
        assert response.json()["error"]["message"] == "Only Platform admins can create clusters."
    assert not Cluster.objects.exists()
    denied = AuditEvent.objects.filter(action="cluster.create", outcome="failure")
    assert denied.count() == 3 and denied.first().actor_name in {"manager", "developer", "qa"}
    response = api_for(users["admin"]).post("/api/v1/clusters/", body, format="json")
    assert response.status_code == 201, response.content
    run = TerraformRun.objects.get()
    assert response.json()["state"] == "queued" and response.json()["cluster"] == "made-1"
    assert run.action == "apply" and run.plan_job.kind == "terraform.apply" and run.started_by == users["admin"]
    cluster = run.cluster
    assert cluster.status == "pending" and cluster.managed_by_terraform
    assert 56600 <= cluster.terraform_vars["api_port"] <= 56699
    assert re.fullmatch(r"clusters/made-1-[a-z2-7]{10}/terraform\.tfstate", cluster.state_key)
    assert AuditEvent.objects.filter(action="cluster.create", outcome="success", object_id=str(cluster.pk)).exists()
    # Managers read: the cluster, its runs and the run page, but no action buttons.
    manager = api_for(users["manager"])
    assert manager.get(f"/api/v1/terraform-runs/{run.pk}/").json()["action"] == "apply"
    assert manager.post(f"/api/v1/terraform-runs/{run.pk}/discard/").status_code == 403
    assert manager.post(f"/api/v1/clusters/{cluster.pk}/runs/", {"action": "plan"}, format="json").status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "field", "text"), [
    ({"name": "x1", "kind": "existing"}, "kind", "is not a valid choice"),
    ({"name": "Bad_Name", "kind": "local"}, "name", "lowercase letters"),
    ({"name": "eks-1", "kind": "aws-eks"}, "region", "An AWS EKS cluster needs a region."),
    ({"name": "ng-1", "kind": "local", "node_groups": [{"name": "a", "min_size": 3, "desired_size": 2,
                                                        "max_size": 4}]}, "node_groups", "min_size (3)"),
])
def test_bad_input_is_a_clear_400_and_creates_nothing(users, api_for, body, field, text):
    response = api_for(users["admin"]).post("/api/v1/clusters/", body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert text in json.dumps(error["fields"][field]) and not Cluster.objects.exists()


@pytest.mark.django_db
def test_a_kind_without_blueprint_code_is_a_clear_400(users, api_for, settings, tmp_path):
    settings.SLIPWAY_TERRAFORM_BLUEPRINTS_DIR = tmp_path
    response = api_for(users["admin"]).post("/api/v1/clusters/", {"name": "eks-1", "kind": "aws-eks",
                                                                  "region": "us-east-1"}, format="json")
    assert response.status_code == 400
    assert "no Terraform blueprint 'aws-eks'" in json.dumps(response.json()["error"]["fields"]["kind"])
    assert not Cluster.objects.exists()


@pytest.mark.django_db
def test_one_run_per_cluster_and_typed_destroy(users, api_for, tf_cluster):
    admin = api_for(users["admin"])
    first = admin.post(f"/api/v1/clusters/{tf_cluster.pk}/runs/", {"action": "plan"}, format="json")
    assert first.status_code == 201
    second = admin.post(f"/api/v1/clusters/{tf_cluster.pk}/runs/", {"action": "apply"}, format="json")
    assert second.status_code == 400
    assert second.json()["error"]["message"] == (
        f"Cluster tf-1 already has run #{first.json()['id']} (plan, queued); approve or discard it, "
        f"or wait for it to finish.")
    assert admin.post(f"/api/v1/terraform-runs/{first.json()['id']}/approve/").status_code == 400
    assert admin.post(f"/api/v1/terraform-runs/{first.json()['id']}/discard/").status_code == 200
    assert Job.objects.get(pk=first.json()["plan_job"]).state == "cancelled"
    wrong = admin.post(f"/api/v1/clusters/{tf_cluster.pk}/destroy/", {"confirm_name": "tf-2"}, format="json")
    assert wrong.status_code == 400 and "Type the cluster name (tf-1)" in wrong.content.decode()
    ok = admin.post(f"/api/v1/clusters/{tf_cluster.pk}/destroy/", {"confirm_name": "tf-1"}, format="json")
    assert ok.status_code == 201 and ok.json()["action"] == "destroy"
    assert AuditEvent.objects.filter(action="cluster.terraform_destroy", outcome="success").count() == 1
    assert AuditEvent.objects.filter(action="cluster.terraform_discard").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_runs_started_at_once_one_is_refused(tf_cluster, terraform_settings):
    # The winner's plan runs for real (eager, after commit) against the test's own state bucket.
    Cluster.objects.filter(pk=tf_cluster.pk).update(state_bucket=terraform_settings.SLIPWAY_TERRAFORM_STATE_BUCKET)
    tf_cluster.refresh_from_db()
    admin = UserFactory(username="root", is_superuser=True)

    def start():
        return terraform_run_start(actor=Actor.for_user(admin), user=admin, cluster=tf_cluster, action="plan")

    results = race(start, start)
    started = [r for r in results if isinstance(r, TerraformRun)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(started) == 1 and len(refused) == 1
    assert "already has" in refused[0].messages[0]
    assert TerraformRun.objects.filter(cluster=tf_cluster).count() == 1
    started[0].refresh_from_db()
    assert started[0].state == "succeeded" and started[0].plan_summary["add"] == 1, started[0].log


@pytest.mark.django_db
def test_reaper_marks_a_run_whose_worker_died_interrupted(tf_cluster, aws_settings, settings):
    settings.SLIPWAY_TERRAFORM_STATE_BUCKET = tf_cluster.state_bucket
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run = TerraformRun.objects.create(cluster=tf_cluster, action="apply", state="applying", worker_host=HOST,
                                      worker_pid=dead.pid, approved_at="2026-01-01T00:00:00Z")
    Cluster.objects.filter(pk=tf_cluster.pk).update(state_bucket="t-no-such-bucket")
    assert reap_interrupted() == [run.pk]
    run.refresh_from_db()
    assert run.state == "interrupted" and "worker running this apply died" in run.message
    assert Cluster.objects.get(pk=tf_cluster.pk).status == "failed"
    assert AuditEvent.objects.filter(action="cluster.terraform_interrupted", outcome="failure").exists()
    assert reap_interrupted() == []  # idempotent


def test_events_render_readably_and_secrets_are_masked():
    change = {"type": "planned_change", "@message": "x", "change": {
        "resource": {"addr": "aws_eks_cluster.this"}, "action": "create"}}
    assert render_event(json.dumps(change)) == "  + aws_eks_cluster.this (create)"
    assert render_event(json.dumps({"type": "version", "@message": "Terraform 1.11.4"})) is None
    outputs = {"type": "outputs", "outputs": {"endpoint": {"sensitive": False, "value": "https://x"},
                                              "kubeconfig": {"sensitive": True}}}
    assert render_event(json.dumps(outputs)) == "Outputs: endpoint, kubeconfig (sensitive)"
    diag = {"type": "diagnostic", "diagnostic": {"severity": "error", "summary": "Error acquiring the state lock",
                                                 "detail": "Lock Info:\n  ID: abc"}}
    assert render_event(json.dumps(diag)) == "Error: Error acquiring the state lock\n  Lock Info:\n    ID: abc"
    line = {"type": "provision_progress", "@message": "x: (local-exec): key is s3cr3t-value-123"}
    assert render_event(json.dumps(line), masks={"s3cr3t-value-123"}) == "x: (local-exec): key is ********"
    assert render_event("\x1b[1mplain text\x1b[0m\n") == "plain text"


def test_plan_changes_counts_replacements_on_both_sides():
    plan = {"resource_changes": [
        {"address": "a.x", "type": "a", "change": {"actions": ["create"]}},
        {"address": "a.y", "type": "a", "change": {"actions": ["delete", "create"]}},
        {"address": "a.z", "type": "a", "change": {"actions": ["no-op"]}},
        {"address": "a.w", "type": "a", "change": {"actions": ["update"]}}]}
    summary, resources = plan_changes(plan)
    assert summary == {"add": 2, "change": 1, "destroy": 1}
    assert [r["action"] for r in resources] == ["create", "replace", "update"]


@pytest.mark.django_db
def test_pages_show_actions_to_admins_only(users, tf_cluster, client):
    client.force_login(users["manager"])
    assert client.get("/clusters/new/").status_code == 403
    page = client.get(f"/clusters/{tf_cluster.pk}/").content.decode()
    assert "tf-1" in page and "Destroy cluster" not in page and "s3://b/clusters/tf-1/terraform.tfstate" in page
    assert client.post(f"/clusters/{tf_cluster.pk}/runs/", {"action": "plan"}).status_code == 403
    assert not TerraformRun.objects.exists()
    client.force_login(users["admin"])
    page = client.get(f"/clusters/{tf_cluster.pk}/").content.decode()
    assert "Destroy cluster" in page and "Check drift" in page
    response = client.post("/clusters/new/", {"name": "Bad Name", "kind": "local", "node_groups": "[]"})
    assert response.status_code == 200 and "Enter a valid" in response.content.decode()
    response = client.post(f"/clusters/{tf_cluster.pk}/destroy/", {"confirm_name": "nope"}, follow=True)
    assert "Type the cluster name (tf-1) to confirm." in response.content.decode()
    Cluster.objects.filter(pk=tf_cluster.pk).update(drift_status="drifted", drift_summary={"add": 0, "change": 1,
                                                                                           "destroy": 0})
    listing = client.get("/clusters/?drift=drifted").content.decode()
    assert "Drifted clusters" in listing and "1 to change" in listing and 'data-cluster="tf-1"' in listing
    assert 'data-cluster="tf-1"' not in client.get("/clusters/?drift=in_sync").content.decode()


@pytest.mark.django_db
def test_every_terraform_action_is_in_the_openapi_schema(users, api_for):
    schema = api_for(users["manager"]).get("/api/schema/?format=json").json()
    paths = schema["paths"]
    for path, method in [("/api/v1/clusters/", "post"), ("/api/v1/clusters/{id}/runs/", "post"),
                         ("/api/v1/clusters/{id}/destroy/", "post"), ("/api/v1/clusters/{id}/lock/", "get"),
                         ("/api/v1/clusters/{id}/force-unlock/", "post"), ("/api/v1/terraform-runs/{id}/", "get"),
                         ("/api/v1/terraform-runs/{id}/approve/", "post"),
                         ("/api/v1/terraform-runs/{id}/discard/", "post")]:
        operation = paths[path][method]
        assert operation["summary"] and "403" in operation["responses"], (path, method)


@pytest.mark.django_db
def test_drift_checks_start_only_on_idle_live_terraform_clusters(tf_cluster):
    from clusters.terraform_drift import clusters_drift_check_all

    busy = Cluster.objects.create(name="tf-busy", kind="local", managed_by_terraform=True, status="ready")
    TerraformRun.objects.create(cluster=busy, action="apply", state="awaiting_approval")
    Cluster.objects.create(name="tf-gone", kind="local", managed_by_terraform=True, status="destroyed")
    Cluster.objects.create(name="registered", kind="existing", status="ready")
    started = clusters_drift_check_all()
    assert [TerraformRun.objects.get(pk=pk).cluster.name for pk in started] == ["tf-1"]
    run = TerraformRun.objects.get(pk=started[0])
    assert run.action == "drift-check" and run.started_by_name == "system:terraform-drift"
    assert clusters_drift_check_all() == []  # tf-1 now has its drift-check run queued


@pytest.mark.django_db
def test_the_new_cluster_form_creates_an_aws_eks_cluster(users, client, settings):
    settings.SLIPWAY_TERRAFORM_STATE_BUCKET = "b"
    client.force_login(users["admin"])
    groups = '[{"name": "general", "instance_types": ["m5.large"], "min_size": 1, "desired_size": 2, "max_size": 3}]'
    response = client.post("/clusters/new/", {"name": "eks-1", "kind": "aws-eks", "node_groups": groups})
    assert response.status_code == 200 and "An AWS EKS cluster needs a region." in response.content.decode()
    assert not Cluster.objects.exists()
    response = client.post("/clusters/new/", {"name": "eks-1", "kind": "aws-eks", "region": "eu-west-1",
                                              "kubernetes_version": "1.33", "node_groups": groups})
    run = TerraformRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/clusters/runs/{run.pk}/"
    assert run.action == "apply" and run.cluster.kind == "aws-eks" and run.cluster.region == "eu-west-1"
    assert run.cluster.node_groups[0]["max_size"] == 3 and run.cluster.managed_by_terraform
