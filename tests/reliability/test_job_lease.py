"""A job's body runs on one worker at a time, even past the broker's visibility timeout.

Two real workers on one queue, a 3 s visibility timeout and a job body (tests/reliability/lease_probe.py) that
runs until the test releases it: Redis hands the unacknowledged task to the second worker while the first
still runs it, and the job's lease keeps the second from running the body too (it counts its runs in Redis).
Then the first worker is killed: its lease runs out and the second worker's delivery takes the job over.
"""

import os
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.db import connection

from portal.audit.actor import Actor
from portal.jobs.models import Job, JobEvent
from tests.reliability import worker
from tests.reliability.lease_probe import TASK, release_key, runs_key
from tests.reliability.worker import wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]
REDIS_DB = 11  # this module's own; its keys carry the job's id and are deleted at the end
VISIBILITY_SECONDS = 3
LEASE_SECONDS = 2
DEFERRED = "is running under"  # what a delivery that leaves a leased job alone logs (portal.jobs.lease.JobLeaseHeld)


def received(log: Path) -> int:
    return log.read_text(errors="replace").count(f"{TASK}[")


def test_redelivered_job_runs_once_while_its_worker_lives_and_is_taken_over_after_it_dies(redis_url, tmp_path):
    if connection.vendor != "postgresql":
        pytest.fail("needs the stack's PostgreSQL (the workers are other processes)")
    url, queue = f"{redis_url}/{REDIS_DB}", f"lease-{os.getpid()}"
    broker = redis.Redis.from_url(url)
    job = Job.objects.create(kind="lease-probe", title="lease probe")
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    workers = []
    try:
        for log in logs:
            with open(log, "w") as out:
                workers.append(worker.start_worker(
                    url, queue, tmp_path, output=out, app="tests.reliability.lease_probe",
                    SLIPWAY_CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_SECONDS), SLIPWAY_JOB_LEASE_SECONDS=str(LEASE_SECONDS)))
        for log in logs:
            wait_for(lambda log=log: " ready." in log.read_text(errors="replace"), 90, f"{log.stem} to be ready")
        client = Celery("lease-test-client", broker=url, set_as_current=False)
        client.send_task(TASK, args=[str(job.pk), Actor.system("test").to_dict()], queue=queue)
        client.close()
        wait_for(lambda: broker.get(runs_key(str(job.pk))) == b"1", 60, "the body to start")
        [first] = [i for i, log in enumerate(logs) if received(log)]
        second = 1 - first

        # Past the visibility timeout the second worker receives the task too; it leaves the leased job alone
        # and comes back, again and again, while the first worker still runs the body.
        wait_for(lambda: logs[second].read_text(errors="replace").count(DEFERRED) >= 3
                 or broker.get(runs_key(str(job.pk))) != b"1", 60,
                 "the second worker to receive the job and leave it alone three times (or run it)")
        job.refresh_from_db()
        assert int(broker.get(runs_key(str(job.pk)))) == 1, "the body ran on both workers at once"
        assert (job.state, job.attempts) == (Job.RUNNING, 1)
        assert job.lease_owner.split(":")[1] == str(workers[first].pid)  # host:pid:token of the first worker

        worker.kill(workers[first])
        wait_for(lambda: broker.get(runs_key(str(job.pk))) == b"2", 60, "the second worker to take the job over")
        broker.set(release_key(str(job.pk)), 1)
        wait_for(lambda: Job.objects.get(pk=job.pk).state in Job.FINISHED, 30, "the job to finish")
        job.refresh_from_db()
        assert (job.state, job.attempts) == (Job.SUCCEEDED, 2), job.error
        assert (job.lease_owner, job.lease_until) == ("", None)  # a finished job holds no lease
        assert job.events.filter(kind=JobEvent.STATE, text="restarted (attempt 2)").exists()
        assert "probe run 2 released" in "\n".join(job.events.filter(kind=JobEvent.LOG).values_list("text", flat=True))
        assert int(broker.get(runs_key(str(job.pk)))) == 2
    finally:
        worker.kill(*workers)
        broker.delete(runs_key(str(job.pk)), release_key(str(job.pk)))
        broker.close()
