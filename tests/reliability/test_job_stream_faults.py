"""Faults around job streaming: lost broadcasts, redelivered tasks, a job left running by a crash."""

import asyncio
import os
import sys
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.db import connection

from portal.audit.actor import Actor
from portal.jobs.models import Job
from portal.jobs.runner import execute_job
from portal.routing import websocket_urlpatterns
from tests.factories import JobFactory, UserFactory

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import sys, django
django.setup()
from portal.jobs.models import Job
from portal.jobs.reporting import JobReporter
reporter = JobReporter(Job.objects.get(pk=sys.argv[1]), flush_seconds=0)
reporter.start()
for n in range(300):
    reporter.log(f"line {n}")
    if n % 50 == 0:
        reporter.progress(n // 3, f"at {n}")
reporter.finish("succeeded")
"""


async def test_events_written_by_another_process_arrive_complete_without_broadcasts():
    """The in-memory layer never carries another process's broadcasts: polling must deliver all."""
    if connection.vendor != "postgresql":
        pytest.fail("needs the stack's PostgreSQL (the writer is another process)")
    user = await database_sync_to_async(UserFactory)(username="watcher", roles=["QA"])
    job = await database_sync_to_async(JobFactory)(started_by=user)
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/jobs/{job.pk}/")
    comm.scope["user"] = user
    assert (await comm.connect(timeout=10))[0]
    db = connection.settings_dict
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings",
           "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "SLIPWAY_ENCRYPTION_KEYS": ",".join(django_settings.SLIPWAY_ENCRYPTION_KEYS)}
    env.pop("REDIS_URL", None)
    writer = await asyncio.create_subprocess_exec(sys.executable, "-c", WRITER, str(job.pk), cwd=ROOT, env=env)
    assert await writer.wait() == 0
    seen = []
    async with asyncio.timeout(30):
        while not (seen and seen[-1]["type"] == "status" and seen[-1]["state"] == "succeeded"):
            seen.append(await comm.receive_json_from(timeout=30))
    await comm.disconnect()
    seqs = [m["seq"] for m in seen if m["type"] == "event"]
    assert seqs == list(range(1, len(seqs) + 1))  # no gaps, no duplicates
    lines = "\n".join(m["text"] for m in seen if m.get("kind") == "log").split("\n")
    assert lines == [f"line {n}" for n in range(300)]


def test_redelivered_task_of_a_finished_job_changes_nothing():
    job = JobFactory()
    calls = []

    def body(job, reporter, actor):
        calls.append(job.pk)
        reporter.log("did the work")

    actor = Actor.system("test")
    assert execute_job(str(job.pk), actor, body) == "succeeded"
    events_after_first = Job.objects.get(pk=job.pk).events.count()
    assert execute_job(str(job.pk), actor, body) == "succeeded"
    assert len(calls) == 1
    assert Job.objects.get(pk=job.pk).events.count() == events_after_first


def test_job_left_running_by_a_killed_worker_is_restarted_and_converges():
    job = JobFactory()
    actor = Actor.system("test")

    def crash(job, reporter, actor):
        reporter.log("step 1 done")
        raise SystemExit("worker killed")  # not an Exception: escapes like a dying process

    with pytest.raises(SystemExit):
        execute_job(str(job.pk), actor, crash)
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("running", 1)

    def converge(job, reporter, actor):
        reporter.log("step 1 already done, step 2 done")

    assert execute_job(str(job.pk), actor, converge) == "succeeded"
    job.refresh_from_db()
    assert job.attempts == 2
    states = list(job.events.filter(kind="state").values_list("text", flat=True))
    assert states == ["started", "restarted (attempt 2)", "succeeded"]
