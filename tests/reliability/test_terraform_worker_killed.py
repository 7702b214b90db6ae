"""A Celery worker killed (SIGKILL) mid-apply: Terraform dies with it, the run is marked interrupted
(by the redelivered task and by the reaper), the lock it left is force-unlocked, and a re-run converges."""

import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.db import connection

from clusters import blueprints
from clusters.models import Cluster, TerraformRun
from clusters.terraform_jobs import reap_interrupted
from clusters.terraform_runs import cluster_force_unlock, terraform_run_start
from portal.audit.actor import Actor
from portal.jobs.models import Job
from tests.factories import UserFactory
from tests.reliability import worker
from tests.reliability.worker import wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def start_worker(url: str, queue: str, settings) -> subprocess.Popen:
    return worker.start_worker(
        url, queue, settings.SLIPWAY_TERRAFORM_DIR.parent, AWS_ENDPOINT_URL=settings.AWS_ENDPOINT_URL,
        SLIPWAY_TERRAFORM_BIN=settings.SLIPWAY_TERRAFORM_BIN, SLIPWAY_TERRAFORM_DIR=str(settings.SLIPWAY_TERRAFORM_DIR),
        SLIPWAY_LOCAL_CLUSTERS_DIR=str(settings.SLIPWAY_LOCAL_CLUSTERS_DIR),
        SLIPWAY_TERRAFORM_STATE_BUCKET=settings.SLIPWAY_TERRAFORM_STATE_BUCKET)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def provisioner_running(cluster_name: str) -> bool:
    """Whether the local blueprint's `devstack.control_plane up --name <cluster_name>` process runs."""
    wanted = ["devstack.control_plane", "up", "--name", cluster_name]
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:  # the process ended while we looked
            continue
        if all(arg in argv for arg in wanted):
            return True
    return False


def apply_finished(job: Job) -> bool:
    job.refresh_from_db()
    return job.state in Job.FINISHED


def test_worker_killed_mid_apply_is_interrupted_and_recovers(redis_url, local_clusters, terraform_settings):
    if connection.vendor != "postgresql":
        pytest.fail("needs the stack's PostgreSQL (the worker is another process)")
    url, queue = f"{redis_url}/5", f"tf-killed-{os.getpid()}"
    admin = UserFactory(username="root", is_superuser=True)
    actor = Actor.for_user(admin)
    name = f"wk-{uuid.uuid4().hex[:6]}"
    # The rows cluster_create would write, without its on-commit enqueue (eager in this process):
    # the task goes to the real worker below instead.
    cluster = Cluster.objects.create(name=name, kind="local", managed_by_terraform=True, status="pending",
                                     terraform_vars=blueprints.initial_vars("local"),
                                     state_bucket=terraform_settings.SLIPWAY_TERRAFORM_STATE_BUCKET,
                                     state_key=f"clusters/{name}/terraform.tfstate")
    job = Job.objects.create(kind="terraform.apply", title=f"Terraform apply: {name}", started_by=admin)
    run = TerraformRun.objects.create(cluster=cluster, action="apply", plan_job=job, started_by=admin)
    first = start_worker(url, queue, terraform_settings)
    second = None
    client = Celery("tf-killed-test-client", broker=url, set_as_current=False)
    try:
        client.send_task("clusters.terraform_plan", args=[str(job.pk), actor.to_dict()], queue=queue)
        # Killed while the apply's provisioner (`devstack.control_plane up`, a few seconds) runs: the
        # state lock is held all that time. Neither the job's batched "Provisioning with 'local-exec'"
        # line nor kwokctl.log will do: the log appears less than a second before the lock is released.
        wait_for(lambda: provisioner_running(name) or apply_finished(job), 120, "the apply's provisioner")
        run.refresh_from_db()
        assert provisioner_running(name), f"the apply ended before the kill: {run.state} {job.error}"
        assert blueprints.backend(cluster).lock() is not None
        assert run.state == TerraformRun.APPLYING and run.worker_pid == first.pid
        terraform_pid = run.terraform_pid
        os.kill(first.pid, signal.SIGKILL)  # the worker only: Terraform must die with it (PDEATHSIG)
        first.wait(timeout=10)
        wait_for(lambda: not alive(terraform_pid), 10, "terraform to die with its worker")

        # The periodic reaper notices the dead worker at once.
        assert reap_interrupted() == [run.pk]
        run.refresh_from_db()
        assert run.state == TerraformRun.INTERRUPTED and "worker running this apply died" in run.message
        lock_id = run.lock_info["ID"]
        assert lock_id and run.lock_info["Operation"] == "OperationTypeApply"

        # The redelivered task finds the run interrupted and fails its job instead of applying blindly.
        second = start_worker(url, queue, terraform_settings)
        wait_for(lambda: Job.objects.get(pk=job.pk).state in Job.FINISHED, 60, "the redelivered task")
        job.refresh_from_db()
        assert job.state == "failed" and "was interrupted" in job.error and job.attempts == 2
        os.killpg(second.pid, signal.SIGKILL)
        second.wait(timeout=10)

        cluster_force_unlock(actor=actor, user=admin, cluster=cluster, lock_id=lock_id)
        again = terraform_run_start(actor=actor, user=admin, cluster=cluster, action="apply")  # eager, here
        again.refresh_from_db()
        assert again.state == TerraformRun.SUCCEEDED, again.log
        cluster.refresh_from_db()
        assert cluster.status == Cluster.READY and cluster.node_count == 3
    finally:
        client.close()
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
