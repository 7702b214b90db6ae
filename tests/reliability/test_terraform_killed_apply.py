"""A Terraform apply killed mid-way: interrupted run, lock shown, refusal, force-unlock, re-run converges."""

import os
import signal
import threading
import time
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from clusters.models import Cluster, TerraformRun
from clusters.terraform_runs import (
    cluster_create,
    cluster_force_unlock,
    terraform_run_approve,
    terraform_run_start,
)
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.jobs.models import JobEvent
from tests.factories import UserFactory

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]


def kill_terraform_when_provisioning(run_id: int, killed: list[int]) -> None:
    """Wait until the apply's provisioner runs, then SIGKILL the terraform process (as an OOM kill would)."""
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            run = TerraformRun.objects.get(pk=run_id)
            if run.apply_job_id and run.terraform_pid and JobEvent.objects.filter(
                    job_id=run.apply_job_id, text__contains="Provisioning with 'local-exec'").exists():
                os.kill(run.terraform_pid, signal.SIGKILL)
                killed.append(run.terraform_pid)
                return
            time.sleep(0.1)
    finally:
        connection.close()


def test_killed_apply_is_interrupted_locked_unlocked_and_rerun_converges(local_clusters, terraform_settings,
                                                                         api_for, client):
    if connection.vendor != "postgresql":
        pytest.fail("needs the stack's PostgreSQL (a second thread watches the run)")
    terraform_settings.SLIPWAY_TERRAFORM_AUTO_APPROVE = []
    admin = UserFactory(username="root", is_superuser=True)
    actor = Actor.for_user(admin)
    run = cluster_create(actor=actor, user=admin, name=f"kill-{uuid.uuid4().hex[:6]}", kind="local")
    run.refresh_from_db()
    assert run.state == TerraformRun.AWAITING_APPROVAL, run.log
    cluster = run.cluster

    killed: list[int] = []
    killer = threading.Thread(target=kill_terraform_when_provisioning, args=(run.pk, killed))
    killer.start()
    terraform_run_approve(actor=actor, user=admin, run=run)  # eager: applies in this thread until killed
    killer.join()
    assert killed, "the apply finished before it could be killed"
    run.refresh_from_db()
    assert run.state == TerraformRun.INTERRUPTED, (run.state, run.message)
    assert "killed by signal 9" in run.message and "force-unlock" in run.message
    lock_id = run.lock_info["ID"]
    assert lock_id and run.lock_info["Operation"] == "OperationTypeApply"
    assert run.apply_job.state == "failed"
    cluster.refresh_from_db()
    assert cluster.status == Cluster.FAILED
    assert AuditEvent.objects.filter(action="cluster.terraform_interrupted", object_id=str(cluster.pk)).exists()

    # The held lock is shown (API and page).
    held = api_for(admin).get(f"/api/v1/clusters/{cluster.pk}/lock/").json()
    assert held["locked"] and held["lock"]["ID"] == lock_id
    client.force_login(admin)
    assert lock_id in client.get(f"/clusters/{cluster.pk}/").content.decode()

    # Another run meets the lock: Terraform refuses it, and the run says so.
    blocked = terraform_run_start(actor=actor, user=admin, cluster=cluster, action="apply")
    blocked.refresh_from_db()
    assert blocked.state == TerraformRun.FAILED and "Error acquiring the state lock" in blocked.log
    assert blocked.lock_info["ID"] == lock_id

    # Force unlock: only with the held lock's ID, audited.
    with pytest.raises(ValidationError, match="not locked with ID"):
        cluster_force_unlock(actor=actor, user=admin, cluster=cluster, lock_id="00000000-0000-0000-0000-000000000000")
    response = api_for(admin).post(f"/api/v1/clusters/{cluster.pk}/force-unlock/", {"lock_id": lock_id},
                                   format="json")
    assert response.status_code == 200, response.content
    assert api_for(admin).get(f"/api/v1/clusters/{cluster.pk}/lock/").json() == {"locked": False, "lock": None}
    assert AuditEvent.objects.filter(action="cluster.terraform_force_unlock", outcome="success",
                                     details__lock_id=lock_id).exists()

    # Re-running converges.
    again = terraform_run_start(actor=actor, user=admin, cluster=cluster, action="apply")
    again.refresh_from_db()
    assert again.state == TerraformRun.AWAITING_APPROVAL, again.log
    terraform_run_approve(actor=actor, user=admin, run=again)
    again.refresh_from_db()
    assert again.state == TerraformRun.SUCCEEDED, again.log
    cluster.refresh_from_db()
    assert cluster.status == Cluster.READY and cluster.node_count == 3
