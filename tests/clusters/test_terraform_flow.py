"""The Terraform flow for real: terraform CLI, the `local` blueprint, S3 state on the moto server."""

import time
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from clusters import blueprints
from clusters.models import Cluster, TerraformRun
from clusters.terraform_runs import cluster_create, terraform_run_approve, terraform_run_start
from devstack.process import port_open
from environments.models import Blueprint
from environments.services import environment_create
from portal import aws
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent

pytestmark = [pytest.mark.integration]


def unique(prefix: str = "it") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def log_of(run: TerraformRun) -> str:
    run.refresh_from_db()
    return run.log


def test_local_cluster_plan_apply_register_use_destroy(users, team, local_clusters, terraform_settings,
                                                         django_capture_on_commit_callbacks):
    admin = users["admin"]
    name = unique()
    with django_capture_on_commit_callbacks(execute=True):
        run = cluster_create(actor=Actor.for_user(admin), user=admin, name=name, kind="local")
    run.refresh_from_db()
    assert run.state == TerraformRun.SUCCEEDED, (run.message, run.log)
    assert run.plan_summary == {"add": 1, "change": 0, "destroy": 0, "failed_checks": []}
    assert run.plan_resources == [{"address": "terraform_data.control_plane", "type": "terraform_data",
                                   "action": "create"}]
    assert run.approved_by_name == "system:terraform-auto-approve" and run.started_by == admin
    assert "+ terraform_data.control_plane (create)" in run.log
    assert "terraform_data.control_plane: Creating..." in run.log
    assert "ingress-nginx 1.12.1:" in run.log and "health: ready" in run.log
    assert "BEGIN" not in run.log and "client-key-data" not in run.log  # the kubeconfig never reaches the log
    cluster = Cluster.objects.get(name=name)
    port = cluster.terraform_vars["api_port"]
    assert cluster.status == Cluster.READY and cluster.api_server == f"https://127.0.0.1:{port}"
    assert cluster.kubeconfig.startswith("apiVersion") and cluster.ca_data and cluster.node_count == 3
    assert run.outputs["api_endpoint"] == cluster.api_server and "kubeconfig" not in run.outputs
    assert port != 56443 and port_open(port)
    s3 = aws.client("s3")
    state = s3.get_object(Bucket=cluster.state_bucket, Key=cluster.state_key)["Body"].read().decode()
    assert '"name": "control_plane"' in state
    assert run.plan_job.events.filter(kind="log", text__contains="Creating...").exists()
    assert AuditEvent.objects.filter(action="cluster.create", object_id=str(cluster.pk)).exists()
    assert AuditEvent.objects.filter(action="cluster.applied", object_id=str(cluster.pk)).exists()

    # The cluster is usable: an environment rolls out on it.
    call_command("seed_demo_blueprint", verbosity=0)
    with django_capture_on_commit_callbacks(execute=True):
        environment = environment_create(
            actor=Actor.for_user(users["qa"]), user=users["qa"], cluster=cluster, stage="qa", team=team,
            blueprint=Blueprint.objects.get(name="shop"), name=unique("env"),
            versions={"web": "1.5.0", "api": "2.1.0", "worker": "2.0.1"})
    environment.refresh_from_db()
    assert environment.status == "ready", environment.status_message

    # Re-running converges: nothing to change, approved without asking, outputs re-registered.
    with django_capture_on_commit_callbacks(execute=True):
        again = terraform_run_start(actor=Actor.for_user(admin), user=admin, cluster=cluster, action="apply")
    again.refresh_from_db()
    assert again.state == TerraformRun.SUCCEEDED and not again.has_changes, again.log

    # Destroy needs the name typed, then stops and deletes the kwok cluster; the state stays in the bucket.
    with pytest.raises(ValidationError, match="Type the cluster name"):
        terraform_run_start(actor=Actor.for_user(admin), user=admin, cluster=cluster, action="destroy",
                            confirm_name="wrong")
    with django_capture_on_commit_callbacks(execute=True):
        destroy = terraform_run_start(actor=Actor.for_user(admin), user=admin, cluster=cluster, action="destroy",
                                      confirm_name=name)
    destroy.refresh_from_db()
    assert destroy.state == TerraformRun.SUCCEEDED, destroy.log
    assert destroy.plan_summary["destroy"] == 1 and destroy.plan_summary["add"] == 0
    cluster.refresh_from_db()
    assert cluster.status == Cluster.DESTROYED and cluster.kubeconfig == "" and cluster.api_server == ""
    # kwokctl returns before the API server's socket is gone: give it a moment.
    deadline = time.monotonic() + 30
    while port_open(port) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not port_open(port)
    assert not (terraform_settings.SLIPWAY_LOCAL_CLUSTERS_DIR / name).exists()
    assert not (terraform_settings.SLIPWAY_TERRAFORM_DIR / name).exists()
    state = s3.get_object(Bucket=cluster.state_bucket, Key=cluster.state_key)["Body"].read().decode()
    assert '"resources": []' in state


def test_plan_awaits_approval_then_applies_exactly_that_plan(users, local_clusters, terraform_settings,
                                                             django_capture_on_commit_callbacks):
    terraform_settings.SLIPWAY_TERRAFORM_AUTO_APPROVE = []
    admin = users["admin"]
    with django_capture_on_commit_callbacks(execute=True):
        run = cluster_create(actor=Actor.for_user(admin), user=admin, name=unique(), kind="local")
    run.refresh_from_db()
    assert run.state == TerraformRun.AWAITING_APPROVAL, run.log
    assert run.plan_summary["add"] == 1 and run.plan_file.endswith(f"run-{run.pk}.tfplan")
    assert Cluster.objects.get(pk=run.cluster_id).status == Cluster.PENDING
    # A second run on the same cluster is refused while this one waits.
    with pytest.raises(ValidationError, match=rf"already has run #{run.pk} \(apply, awaiting approval\)"):
        terraform_run_start(actor=Actor.for_user(admin), user=admin, cluster=run.cluster, action="plan")
    with django_capture_on_commit_callbacks(execute=True):
        terraform_run_approve(actor=Actor.for_user(admin), user=admin, run=run)
    run.refresh_from_db()
    assert run.state == TerraformRun.SUCCEEDED, run.log
    assert run.approved_by == admin and run.apply_job.state == "succeeded"
    assert "Apply complete! Resources: 1 added" in run.log
    assert Cluster.objects.get(pk=run.cluster_id).status == Cluster.READY
    workspace = blueprints.workspace(run.cluster)
    assert not workspace.plan_path(run.pk).exists()  # a saved plan is applied once


def test_drift_after_an_out_of_band_change_to_the_state(users, local_clusters, terraform_settings,
                                                        django_capture_on_commit_callbacks, client):
    from clusters.terraform_drift import clusters_drift_check_all

    admin = users["admin"]
    with django_capture_on_commit_callbacks(execute=True):
        created = cluster_create(actor=Actor.for_user(admin), user=admin, name=unique("drift"), kind="local")
    cluster = created.cluster
    with django_capture_on_commit_callbacks(execute=True):
        [first] = clusters_drift_check_all()
    first = TerraformRun.objects.get(pk=first)
    assert first.action == "drift-check" and first.state == TerraformRun.SUCCEEDED, first.log
    cluster.refresh_from_db()
    assert cluster.drift_status == Cluster.IN_SYNC and cluster.drift_checked_at

    # Someone edits the resource in the remote state behind Slipway's back.
    s3 = aws.client("s3")
    import json

    state = json.loads(s3.get_object(Bucket=cluster.state_bucket, Key=cluster.state_key)["Body"].read())
    state["serial"] += 1
    attributes = state["resources"][0]["instances"][0]["attributes"]
    attributes["input"]["value"]["python"] = "/opt/out-of-band/python"
    s3.put_object(Bucket=cluster.state_bucket, Key=cluster.state_key, Body=json.dumps(state).encode())

    with django_capture_on_commit_callbacks(execute=True):
        [second] = clusters_drift_check_all()
    second = TerraformRun.objects.get(pk=second)
    assert second.state == TerraformRun.SUCCEEDED and second.message == "drifted", second.log
    cluster.refresh_from_db()
    assert cluster.drift_status == Cluster.DRIFTED
    assert cluster.drift_summary["change"] == 1 and cluster.drift_summary["resources"] == [
        {"address": "terraform_data.control_plane", "type": "terraform_data", "action": "update"}]
    client.force_login(users["manager"])
    listing = client.get("/clusters/?drift=drifted").content.decode()
    assert "Drifted clusters" in listing and cluster.name in listing and "1 to change" in listing
    assert AuditEvent.objects.filter(action="cluster.terraform_drift_check", object_id=str(cluster.pk)).count() == 2

    # Applying converges back to the code.
    with django_capture_on_commit_callbacks(execute=True):
        fix = terraform_run_start(actor=Actor.for_user(admin), user=admin, cluster=cluster, action="apply")
    fix.refresh_from_db()
    assert fix.state == TerraformRun.SUCCEEDED and fix.plan_summary["change"] == 1, fix.log
    cluster.refresh_from_db()
    assert cluster.drift_status == Cluster.IN_SYNC and cluster.status == Cluster.READY


LEAKY_BLUEPRINT = """
terraform {
  backend "s3" {}
}

resource "terraform_data" "leaky" {
  provisioner "local-exec" {
    command = "echo password=hunter2-very-secret; echo key $AWS_SECRET_ACCESS_KEY in the clear"
  }
}

output "admin_token" {
  value     = "tok-${terraform_data.leaky.id}-sensitive"
  sensitive = true
}

output "api_endpoint" {
  value = "https://127.0.0.1:1"
}
"""


def test_secrets_never_reach_stored_logs_job_output_or_the_api(users, terraform_settings, tmp_path, monkeypatch,
                                                               api_for, django_capture_on_commit_callbacks):
    secret_key = f"aws-secret-{uuid.uuid4().hex}"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret_key)  # the moto server accepts any key
    (tmp_path / "blueprints" / "local").mkdir(parents=True)
    (tmp_path / "blueprints" / "local" / "main.tf").write_text(LEAKY_BLUEPRINT)
    terraform_settings.SLIPWAY_TERRAFORM_BLUEPRINTS_DIR = tmp_path / "blueprints"
    admin = users["admin"]
    with django_capture_on_commit_callbacks(execute=True):
        run = cluster_create(actor=Actor.for_user(admin), user=admin, name=unique("leak"), kind="local")
    run.refresh_from_db()
    # The leaky blueprint has no kubeconfig, so the health check fails the run; the log is what matters.
    assert run.state == TerraformRun.FAILED and "not healthy" in run.message
    assert "password=********" in run.log and "key ******** in the clear" in run.log
    job_output = "\n".join(run.plan_job.events.values_list("text", flat=True))
    api = api_for(admin).get(f"/api/v1/terraform-runs/{run.pk}/").content.decode()
    for text in (run.log, job_output, api, str(run.outputs)):
        assert "hunter2-very-secret" not in text and secret_key not in text and "-sensitive" not in text
    assert run.outputs == {"api_endpoint": "https://127.0.0.1:1"}
    assert "Outputs: admin_token (sensitive), api_endpoint" in run.log


def test_a_control_plane_stopped_behind_terraforms_back_is_drift_and_apply_repairs_it(
        users, local_clusters, terraform_settings, django_capture_on_commit_callbacks):
    import subprocess
    import sys

    from clusters.terraform_drift import clusters_drift_check_all

    admin = users["admin"]
    name = unique("gone")
    with django_capture_on_commit_callbacks(execute=True):
        cluster_create(actor=Actor.for_user(admin), user=admin, name=name, kind="local")
    cluster = Cluster.objects.get(name=name)
    port = cluster.terraform_vars["api_port"]
    assert cluster.status == Cluster.READY and port_open(port)
    subprocess.run([sys.executable, "-m", "devstack.control_plane", "down", "--name", name, "--port", str(port), "--dir",
                    str(terraform_settings.SLIPWAY_LOCAL_CLUSTERS_DIR / name)], check=True, capture_output=True)
    assert not port_open(port)

    with django_capture_on_commit_callbacks(execute=True):
        [check] = clusters_drift_check_all()
    check = TerraformRun.objects.get(pk=check)
    assert check.message == "drifted", check.log
    cluster.refresh_from_db()
    assert cluster.drift_status == Cluster.DRIFTED
    assert cluster.drift_summary["failed_checks"] == [
        f"The local control plane {name} is not running: its kubeconfig is gone."]

    with django_capture_on_commit_callbacks(execute=True):
        repair = terraform_run_start(actor=Actor.for_user(admin), user=admin, cluster=cluster, action="apply")
    repair.refresh_from_db()
    assert repair.state == TerraformRun.SUCCEEDED, repair.log
    assert "replacing terraform_data.control_plane" in repair.log
    assert repair.plan_resources == [{"address": "terraform_data.control_plane", "type": "terraform_data",
                                      "action": "replace"}]
    cluster.refresh_from_db()
    assert cluster.status == Cluster.READY and cluster.drift_status == Cluster.IN_SYNC and port_open(port)
    with django_capture_on_commit_callbacks(execute=True):
        [again] = clusters_drift_check_all()
    assert TerraformRun.objects.get(pk=again).message == "in sync"
