"""The broker Redis restarted (SIGKILL) with tasks queued, and down while the web enqueues a job:
no task is lost, none runs twice, and a job whose task could not be sent is failed with a record.

A private, persistent Redis (appendonly, as production needs: README "What survives a restart") is the
broker of a daphne web and, later, of a worker; jobs are self-checks, started through the API.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest
import redis
import requests
from django.core.management import call_command
from django.db import connection

from clusters.models import Cluster
from devstack.daemons import Redis
from devstack.process import Context, free_port, port_open, read_pid, stop
from environments.models import Blueprint, Environment
from portal.accounts.roles import PLATFORM_ADMINS
from portal.accounts.tokens import api_token_create
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.jobs.models import Job
from portal.outages import QUEUE_MESSAGE
from tests.factories import TeamFactory, UserFactory
from tests.reliability import worker
from tests.reliability.daphne_web import start_web

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]
QUEUE = "celery"  # where the web sends a job's task: the default queue, on the private server


def crash(ctx: Context, server: Redis) -> None:
    """SIGKILL the private redis-server (no shutdown save) and wait until its port is closed."""
    os.kill(read_pid(ctx, "redis"), signal.SIGKILL)
    worker.wait_for(lambda: not port_open(server.port), 30, "redis-server to die")


def test_queued_tasks_survive_a_redis_crash_and_a_job_sent_while_it_is_down_is_never_lost(tmp_path: Path,
                                                                                          kubeconfig_path: str):
    if connection.vendor != "postgresql":
        pytest.fail("needs the stack's PostgreSQL (the web and the worker are other processes)")
    call_command("seed_demo_blueprint", verbosity=0)
    team = TeamFactory(slug="faults-redis")
    # Never contacted: the environment made below while the broker is down never rolls out.
    cluster = Cluster.objects.create(name="faults-redis", kind=Cluster.LOCAL,
                                     kubeconfig=Path(kubeconfig_path).read_text())
    admin = UserFactory(username="faults-redis", roles=[PLATFORM_ADMINS], teams=[team])
    _, key = api_token_create(actor=Actor.system("test"), user=admin, name="faults")
    ctx, server = Context(root=tmp_path), Redis(free_port(), persistent=True)
    db = connection.settings_dict
    url = f"redis://127.0.0.1:{server.port}/0"
    web = runner = None
    try:
        server.up(ctx)
        # A short publish bound (about 7 s) keeps the test short; production's default is about 10 s.
        web, base = start_web(tmp_path / "web.log", REDIS_URL=url, SLIPWAY_VAR_DIR=str(tmp_path / "var"),
                              SLIPWAY_QUEUE_PUBLISH_RETRIES="8",
                              DATABASE_URL=f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/"
                                           f"{db['NAME']}")
        api = requests.Session()
        api.headers.update({"Authorization": f"Token {key}", "Accept": "application/json"})

        def start_selfcheck() -> requests.Response:
            return api.post(f"{base}/api/v1/jobs/selfcheck/", timeout=60)

        # 1. Three jobs queued while no worker runs, then the broker crashes and comes back.
        queued = [start_selfcheck() for _ in range(3)]
        assert [r.status_code for r in queued] == [201] * 3, queued[0].text
        broker = redis.Redis.from_url(url)
        assert broker.llen(QUEUE) == 3
        crash(ctx, server)
        server.up(ctx)  # the same port and data directory
        assert broker.llen(QUEUE) == 3  # the append-only file kept them

        # 2. The broker is down when the web enqueues; it is back within the publish bound.
        crash(ctx, server)
        before = Job.objects.count()
        answer: list[requests.Response] = []
        sender = threading.Thread(target=lambda: answer.append(start_selfcheck()))
        sender.start()
        # The row is committed before its task is sent: from then on the web is retrying the send.
        worker.wait_for(lambda: Job.objects.count() > before, 30, "the job row")
        server.up(ctx)
        sender.join(timeout=60)
        assert answer and answer[0].status_code == 201, answer and answer[0].text

        # 3. A worker starts: every job runs once, to completion.
        runner = worker.start_worker(url, QUEUE, tmp_path, SLIPWAY_CELERY_VISIBILITY_TIMEOUT="3600")
        ids = [r.json()["id"] for r in queued] + [answer[0].json()["id"]]
        worker.wait_for(lambda: Job.objects.filter(pk__in=ids, state__in=Job.FINISHED).count() == 4, 120,
                        "the four jobs to finish")
        jobs = Job.objects.filter(pk__in=ids)
        assert {(j.state, j.attempts, j.error) for j in jobs} == {(Job.SUCCEEDED, 1, "")}
        for job in jobs:
            assert list(job.events.filter(kind="state").values_list("text", flat=True)) == ["started", "succeeded"]
        assert broker.llen(QUEUE) == 0

        # 4. The broker stays down: 503 with a sentence, and the job is failed with the reason, audited.
        crash(ctx, server)
        refused = start_selfcheck()
        assert refused.status_code == 503
        assert refused.json()["error"]["message"] == QUEUE_MESSAGE
        failed = Job.objects.exclude(pk__in=ids).get()
        assert (failed.state, failed.attempts, failed.error) == (Job.FAILED, 0, QUEUE_MESSAGE)
        assert AuditEvent.objects.filter(action="job.failed", object_id=str(failed.pk),
                                         outcome=AuditEvent.FAILURE).count() == 1
        # An environment created meanwhile is failed with the reason (not pending for ever), and retried once
        # the broker is back.
        created = api.post(f"{base}/api/v1/environments/", timeout=60, json={
            "name": "faults-unqueued", "cluster": cluster.name, "blueprint": Blueprint.objects.get(name="shop").pk,
            "team": team.slug, "versions": {"web": "1.5.0", "api": "2.1.0", "worker": "2.0.1"}})
        assert created.status_code == 503, created.text
        environment = Environment.objects.get(name="faults-unqueued")
        assert (environment.status, environment.status_message) == (Environment.FAILED, QUEUE_MESSAGE)
        rollout_job = Job.objects.get(rollout__environment=environment)
        assert (rollout_job.state, rollout_job.error) == (Job.FAILED, QUEUE_MESSAGE)
        assert not Job.objects.filter(state__in=(Job.QUEUED, Job.RUNNING)).exists()
        server.up(ctx)
        retried = api.post(f"{base}/api/v1/environments/{environment.pk}/retry/", timeout=60)
        assert retried.status_code in (200, 201, 202), retried.text
        assert Environment.objects.get(pk=environment.pk).status == Environment.PENDING
        worker.wait_for(lambda: broker.llen(QUEUE) == 1, 30, "the retried rollout's task on the queue")
        # Logged as the outage it is, never as a server error of Slipway's own.
        log = (tmp_path / "web.log").read_text()
        assert "Internal Server Error" not in log and '" 500 ' not in log, log[-3000:]
        assert "the task queue is unreachable (OperationalError); the job is failed" in log
    finally:
        worker.kill(web, runner)
        stop(ctx, "redis")
