"""A Terraform state that went backwards is noticed and refused, with the way out, on the real flow.

terraform CLI, the `local` blueprint and S3 state (versioned) on the moto server, as in
test_terraform_flow; the state is lost, replaced and rolled back by writing to the bucket, as a
restarted in-memory moto or a misplaced state file would.
"""

import json
import time
import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from clusters.models import Cluster, TerraformRun
from clusters.state_versions import cluster_state_accept, cluster_state_report, cluster_state_restore
from clusters.terraform_runs import cluster_create, terraform_run_start
from devstack.process import port_open
from portal import aws
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent

pytestmark = [pytest.mark.integration]


def run_now(capture, **kwargs) -> TerraformRun:
    with capture(execute=True):
        run = terraform_run_start(**kwargs)
    run.refresh_from_db()
    return run


def test_lost_replaced_and_older_states_are_refused_and_restore_or_accept_lead_out(
        users, api_for, local_clusters, terraform_settings, django_capture_on_commit_callbacks):
    admin, qa = users["admin"], users["qa"]
    as_admin = {"actor": Actor.for_user(admin), "user": admin}
    name = f"sv-{uuid.uuid4().hex[:6]}"
    with django_capture_on_commit_callbacks(execute=True):
        created = cluster_create(**as_admin, name=name, kind="local")
    created.refresh_from_db()
    assert created.state == TerraformRun.SUCCEEDED, created.log
    cluster = Cluster.objects.get(name=name)
    port = cluster.terraform_vars["api_port"]
    s3, bucket, key = aws.client("s3"), cluster.state_bucket, cluster.state_key
    state = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert (cluster.state_lineage, cluster.state_serial) == (state["lineage"], state["serial"])
    assert f"state recorded: lineage {state['lineage']}, serial {state['serial']}" in created.log

    # 1. The state is gone (an in-memory S3 restarted): destroy is refused, the control plane keeps running.
    s3.delete_object(Bucket=bucket, Key=key)
    destroy = run_now(django_capture_on_commit_callbacks, **as_admin, cluster=cluster, action="destroy",
                      confirm_name=name)
    assert destroy.state == TerraformRun.FAILED
    assert "is missing, but Slipway recorded" in destroy.message and "destroy would remove nothing" in destroy.message
    assert destroy.plan_summary == {} and "terraform plan" not in destroy.log.lower().split("init")[-1]
    cluster.refresh_from_db()
    assert cluster.status != Cluster.DESTROYED and port_open(port)
    report = cluster_state_report(cluster)
    assert "is missing" in report["problem"] and report["current"] is None
    recorded = [v for v in report["versions"] if v["recorded"]]
    assert len(recorded) == 1 and report["versions"][0]["deleted"]

    # The API says the same, and only a Platform admin may restore or accept.
    api = api_for(admin).get(f"/api/v1/clusters/{cluster.pk}/state/")
    assert api.status_code == 200 and "is missing" in api.json()["problem"]
    assert api_for(qa).post(f"/api/v1/clusters/{cluster.pk}/state/restore/",
                            {"version_id": recorded[0]["version_id"]}, format="json").status_code == 403
    with pytest.raises(PermissionDenied):
        cluster_state_restore(actor=Actor.for_user(qa), user=qa, cluster=cluster, version_id=recorded[0]["version_id"])
    with pytest.raises(ValidationError, match="has no version"):
        cluster_state_restore(**as_admin, cluster=cluster, version_id="nope")

    # 2. Another configuration's state in its place: refused, naming both lineages.
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps({**state, "lineage": "someone-else", "serial": 40}))
    plan = run_now(django_capture_on_commit_callbacks, **as_admin, cluster=cluster, action="plan")
    assert plan.state == TerraformRun.FAILED and "has lineage someone-else" in plan.message

    # Restoring the recorded version (the bucket is versioned) lets the run through: destroy plans 1 resource.
    restored = api_for(admin).post(f"/api/v1/clusters/{cluster.pk}/state/restore/",
                                   {"version_id": recorded[0]["version_id"]}, format="json")
    assert restored.status_code == 200, restored.json()
    assert restored.json()["problem"] == "" and restored.json()["current"]["lineage"] == state["lineage"]
    assert AuditEvent.objects.filter(action="cluster.terraform_state_restore", object_id=str(cluster.pk),
                                     outcome="success").exists()
    destroy = run_now(django_capture_on_commit_callbacks, **as_admin, cluster=cluster, action="destroy",
                      confirm_name=name)
    assert destroy.state == TerraformRun.SUCCEEDED, destroy.log
    assert destroy.plan_summary["destroy"] == 1
    deadline = time.monotonic() + 30
    while port_open(port) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not port_open(port)
    cluster.refresh_from_db()
    assert cluster.state_serial > state["serial"]

    # 3. An older version put back (the destroy lost): refused as older; accepting it, with a reason, leads on.
    s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": key,
                                                       "VersionId": recorded[0]["version_id"]})
    again = run_now(django_capture_on_commit_callbacks, **as_admin, cluster=Cluster.objects.get(pk=cluster.pk),
                    action="apply")
    assert again.state == TerraformRun.FAILED and f"at serial {state['serial']}, older than" in again.message
    assert not port_open(port)
    bad = api_for(admin).post(f"/api/v1/clusters/{cluster.pk}/state/accept/", {"reason": "ok"}, format="json")
    assert bad.status_code == 400 and "reason" in bad.json()["error"]["fields"]
    cluster_state_accept(**as_admin, cluster=Cluster.objects.get(pk=cluster.pk),
                         reason="the destroy was rolled back on purpose in this test")
    assert AuditEvent.objects.filter(action="cluster.terraform_state_accept", outcome="success",
                                     details__reason__icontains="rolled back").exists()
    assert cluster_state_report(Cluster.objects.get(pk=cluster.pk))["problem"] == ""
    # Accepted, the state is planned against again — and it claims a control plane that no longer runs,
    # which the run then reports (that is what accepting a stale state means, and why it needs a reason).
    again = run_now(django_capture_on_commit_callbacks, **as_admin, cluster=Cluster.objects.get(pk=cluster.pk),
                    action="apply")
    assert "Plan: 0 to add, 0 to change, 0 to destroy." in again.log and "older than" not in again.message
