"""A real worker: the request id travels in the task's headers over Redis, the worker's log lines are
JSON carrying it, and the worker serves its task figures on SLIPWAY_WORKER_METRICS_PORT."""

import json
import os
import urllib.request

import pytest
from celery import Celery
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from devstack.process import free_port
from portal.audit.actor import Actor
from portal.jobs.models import Job
from portal.jobs.tasks import selfcheck
from portal.observability.log_context import LogContext, bind, unbind
from tests.factories import JobFactory, UserFactory
from tests.reliability import worker
from tests.reliability.worker import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def scrape(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_worker_logs_json_with_the_publishing_request_id_and_serves_its_metrics(redis_url, tmp_path):
    if connection.vendor != "postgresql":
        pytest.fail("needs the stack's PostgreSQL (the worker is another process)")
    url, queue, port = f"{redis_url}/6", f"observe-logs-{os.getpid()}", free_port()
    admin = UserFactory(username="observe-admin", roles=["Platform admins"])
    actor = Actor.for_user(admin, request_id="abc123")
    job = JobFactory(kind="selfcheck", started_by=admin, request_id=actor.request_id)
    log_path = tmp_path / "worker.log"
    client = Celery("observe-logs-client", broker=url, set_as_current=False)
    client.conf.update(broker_connection_retry_on_startup=True)
    proc = None
    with log_path.open("w") as output:
        try:
            # The worker as the chart starts it: the threads pool (the log context per task thread) and
            # PROMETHEUS_MULTIPROC_DIR set (the figures go through its files, written from several threads).
            (tmp_path / "metrics").mkdir()
            proc = worker.start_worker(url, queue, tmp_path, output=output, pool="threads", concurrency=8,
                                       SLIPWAY_LOG_FORMAT="json", SLIPWAY_WORKER_METRICS_PORT=str(port),
                                       PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
            # Published as the web process does, inside a request's log context (before_task_publish).
            token = bind(LogContext(request_id="abc123", path="/jobs/selfcheck/", user="observe-admin"))
            try:
                client.send_task(selfcheck.name, args=[str(job.pk), actor.to_dict()], queue=queue)
            finally:
                unbind(token)
            wait_for(lambda: Job.objects.get(pk=job.pk).state in Job.FINISHED, 60, "the job on the worker")
            assert Job.objects.get(pk=job.pk).state == "succeeded", Job.objects.get(pk=job.pk).error
            key = ("slipway_celery_task_duration_seconds_count", (("task", selfcheck.name),))
            figures = wait_for(lambda: (lambda f: f if f.get(key) else None)(scrape(port)), 20, "worker metrics")
            assert figures[key] == 1
        finally:
            worker.kill(proc)
            client.close()
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    task_lines = [line for line in lines if line.get("task") == selfcheck.name]
    assert len(task_lines) >= 2, log_path.read_text()[-3000:]
    assert {(line["request_id"], line["user"]) for line in task_lines} == {("abc123", "observe-admin")}
    assert any(line["message"] == f"worker metrics served on :{port}/metrics" for line in lines)
