import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.jobs.consumers import CLOSE_FORBIDDEN
from portal.jobs.models import Job
from portal.jobs.reporting import JobReporter
from portal.jobs.runner import execute_job
from portal.routing import websocket_urlpatterns
from tests.factories import JobFactory, TeamFactory, UserFactory

app = URLRouter(websocket_urlpatterns)


def communicator(job, user, after=0):
    comm = WebsocketCommunicator(app, f"/ws/jobs/{job.pk}/?after={after}")
    comm.scope["user"] = user
    return comm


async def receive_until(comm, predicate, timeout=10):
    seen = []
    async with asyncio.timeout(timeout):
        while True:
            message = await comm.receive_json_from(timeout=timeout)
            seen.append(message)
            if predicate(message):
                return seen


@pytest.mark.django_db
def test_reporter_batches_logs_and_records_progress():
    job = JobFactory()
    reporter = JobReporter(job, flush_seconds=60, flush_lines=3)
    reporter.start()
    reporter.log("one")
    reporter.log("two password=hunter2")
    assert job.events.count() == 1  # only the state event: lines are buffered
    reporter.log("three")  # third line flushes the batch
    reporter.progress(40, "copying")
    reporter.finish(Job.SUCCEEDED)
    events = list(job.events.order_by("seq"))
    assert [e.seq for e in events] == [1, 2, 3, 4]
    assert [e.kind for e in events] == ["state", "log", "progress", "state"]
    assert events[1].text == "one\ntwo password=********\nthree"
    job.refresh_from_db()
    assert (job.state, job.progress, job.attempts, job.next_seq) == ("succeeded", 100, 1, 5)


@pytest.mark.django_db
def test_a_progress_message_longer_than_the_job_row_holds_is_summarised_there_and_kept_whole_in_its_event():
    job = JobFactory()
    reporter = JobReporter(job)
    waiting = ", ".join(f"Deployment component-{n}: 0/1 ready" for n in range(20))  # a wait on 20 components
    assert len(waiting) > 300
    reporter.progress(50, waiting)
    job.refresh_from_db()
    assert len(job.message) == 300 and job.message.endswith("…") and waiting.startswith(job.message[:-1])
    assert job.events.get(kind="progress").text == waiting


@pytest.mark.django_db
def test_execute_job_records_failure_and_is_idempotent_once_finished():
    job = JobFactory()
    actor = Actor.system("test")

    def body(job, reporter, actor):
        reporter.log("working")
        raise ValueError("disk full")

    assert execute_job(str(job.pk), actor, body) == "failed"
    job.refresh_from_db()
    assert job.error == "ValueError: disk full"
    assert job.events.filter(kind="log", text="working").exists()
    assert AuditEvent.objects.get(action="job.failed").outcome == "failure"
    # A redelivered task for a finished job does nothing.
    assert execute_job(str(job.pk), actor, body) == "failed"
    assert job.events.count() == 3


@pytest.mark.django_db
def test_selfcheck_through_the_api_runs_and_audits(users, api_for, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(users["admin"]).post("/api/v1/jobs/selfcheck/")
    assert response.status_code == 201
    job = Job.objects.get(pk=response.json()["id"])
    assert job.state == "succeeded", job.error
    log = "\n".join(job.events.filter(kind="log").values_list("text", flat=True))
    assert "ok: " in log and "channel layer" in log
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"selfcheck.start", "job.succeeded"} <= actions
    events = api_for(users["admin"]).get(f"/api/v1/jobs/{job.pk}/events/", {"after": 2}).json()
    assert events and events[0]["seq"] == 3


@pytest.mark.django_db(transaction=True)
async def test_authorized_user_gets_backlog_then_live_events():
    user = await database_sync_to_async(UserFactory)(username="owner", roles=["Developers"])
    job = await database_sync_to_async(JobFactory)(started_by=user)
    reporter = JobReporter(job, flush_seconds=0)
    await database_sync_to_async(reporter.start)()
    await database_sync_to_async(reporter.log)("before connect")
    comm = communicator(job, user)
    connected, _ = await comm.connect(timeout=10)
    assert connected
    seen = await receive_until(comm, lambda m: m.get("text") == "before connect")
    assert [m["seq"] for m in seen if m["type"] == "event"] == [1, 2]
    await database_sync_to_async(reporter.log)("live line")
    await database_sync_to_async(reporter.progress)(60, "halfway")
    seen = await receive_until(comm, lambda m: m.get("kind") == "progress")
    texts = [m.get("text") for m in seen if m["type"] == "event"]
    assert texts == ["live line", "halfway"]
    await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_other_users_are_refused():
    owner = await database_sync_to_async(UserFactory)(username="owner2", roles=["Developers"])
    team = await database_sync_to_async(TeamFactory)(slug="elsewhere")
    stranger = await database_sync_to_async(UserFactory)(username="stranger2", roles=["Developers"], teams=[team])
    job = await database_sync_to_async(JobFactory)(started_by=owner)
    comm = communicator(job, stranger)
    connected, code = await comm.connect(timeout=10)
    assert not connected
    assert code == CLOSE_FORBIDDEN


@pytest.mark.django_db(transaction=True)
async def test_finished_job_replays_its_stored_log():
    user = await database_sync_to_async(UserFactory)(username="replayer", roles=["QA"])
    job = await database_sync_to_async(JobFactory)(started_by=user)

    def run():
        reporter = JobReporter(job, flush_seconds=60)
        reporter.start()
        for n in range(1500):
            reporter.log(f"line {n}")
        reporter.flush()
        reporter.finish(Job.SUCCEEDED)

    await database_sync_to_async(run)()
    comm = communicator(job, user)
    assert (await comm.connect(timeout=10))[0]
    seen = await receive_until(comm, lambda m: m["type"] == "status")
    log = "\n".join(m["text"] for m in seen if m.get("kind") == "log").split("\n")
    assert log[0] == "line 0" and log[-1] == "line 1499" and len(log) == 1500
    assert seen[-1]["state"] == "succeeded" and seen[-1]["progress"] == 100
    await comm.disconnect()
    # Joining late with ?after= only sends what is newer.
    late = communicator(job, user, after=seen[-2]["seq"])
    assert (await late.connect(timeout=10))[0]
    first = await late.receive_json_from()
    assert first["type"] == "status"
    await late.disconnect()
