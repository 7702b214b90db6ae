"""A job runs on a real Celery worker over real Redis, and its output reaches a websocket live."""

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import Celery
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.db import connection

from portal.audit.actor import Actor
from portal.channel_layer import redis_channel_layer
from portal.jobs.models import Job
from portal.jobs.tasks import selfcheck
from portal.routing import websocket_urlpatterns
from tests.factories import JobFactory, UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def worker(redis_url, tmp_path, settings):
    if connection.vendor != "postgresql":
        pytest.fail("the worker test needs the stack's PostgreSQL (the worker is another process)")
    url = f"{redis_url}/2"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DATABASE_URL": database_url(),
           "REDIS_URL": url, "SLIPWAY_VAR_DIR": str(tmp_path),
           "SLIPWAY_ENCRYPTION_KEYS": ",".join(django_settings.SLIPWAY_ENCRYPTION_KEYS)}
    queue = f"test-{os.getpid()}"
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool", "solo", "-l", "info",
                             "--without-gossip", "--without-mingle", "-Q", queue],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # A client app of its own: the project's app object in this process stays eager for other tests.
    client = Celery("slipway-test-client", broker=url, set_as_current=False)
    client.conf.update(task_default_queue=queue, broker_connection_retry_on_startup=True)
    settings.CHANNEL_LAYERS = {"default": redis_channel_layer(url)}
    # Only the Redis broadcast may deliver live events in this test: no database polling.
    settings.SLIPWAY_JOB_STREAM_POLL_SECONDS = 3600
    channel_layers.backends.clear()
    yield client
    proc.terminate()
    output = proc.communicate(timeout=30)[0]
    client.close()
    channel_layers.backends.clear()
    print(output[-3000:])


async def test_selfcheck_on_real_worker_streams_live_over_redis(worker):
    user = await database_sync_to_async(UserFactory)(username="admin-w", roles=["Platform admins"])
    job = await database_sync_to_async(JobFactory)(started_by=user, kind="selfcheck", title="Self-check")
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/jobs/{job.pk}/")
    comm.scope["user"] = user
    connected, _ = await comm.connect(timeout=10)
    assert connected
    assert (await comm.receive_json_from(timeout=5))["state"] == "queued"
    # A job waits in the queue longer than Redis client's default read timeout (5 s, the same as
    # channels_redis's blocking pop): the idle stream must survive it (it used to die silently).
    await asyncio.sleep(7)
    await database_sync_to_async(worker.send_task)(selfcheck.name, args=[str(job.pk), Actor.for_user(user).to_dict()])
    seen = []
    deadline = time.monotonic() + 90
    while not seen or seen[-1].get("state") != "succeeded" or seen[-1]["type"] != "status":
        # The communicator's own timeout, not an outer one: it re-raises the consumer's crash.
        seen.append(await comm.receive_json_from(timeout=max(0.1, deadline - time.monotonic())))
    await comm.disconnect()
    events = [m for m in seen if m["type"] == "event"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    log = "\n".join(e["text"] for e in events if e["kind"] == "log")
    assert "checking database" in log
    assert "ok: RedisChannelLayer" in log  # the worker itself ran on the Redis channel layer
    assert [e["progress"] for e in events if e["kind"] == "progress"] == [33, 66, 100]
    finished = await database_sync_to_async(Job.objects.get)(pk=job.pk)
    assert finished.state == "succeeded"
    assert finished.attempts == 1


def test_worker_fixture_cleans_up_children(worker):
    """The worker really is a separate process that answers Celery's control ping."""
    deadline = time.monotonic() + 60
    replies = []
    while time.monotonic() < deadline and not replies:
        replies = worker.control.ping(timeout=1.0)
    assert replies, "the Celery worker did not answer a ping over Redis"
