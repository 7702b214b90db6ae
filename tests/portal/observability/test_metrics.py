"""/metrics: who may read it, and that each family counts what it says (bounded labels)."""

import uuid

import pytest
from celery import Celery
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from portal.audit.actor import Actor
from portal.jobs.lease import job_lease_take
from portal.jobs.models import Job
from portal.jobs.tasks import selfcheck
from portal.routing import websocket_urlpatterns
from tests.factories import JobFactory, UserFactory

pytestmark = pytest.mark.django_db
TOKEN = "metrics-token-for-tests-0123456789"


def samples(response) -> dict[tuple[str, frozenset], float]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.content.decode()) for sample in family.samples}


@pytest.fixture
def scraper(client, settings):
    settings.SLIPWAY_METRICS_TOKEN = TOKEN
    return lambda: client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")


def test_only_the_token_or_a_platform_admin_reads_metrics(client, settings, users):
    settings.SLIPWAY_METRICS_TOKEN = TOKEN
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"].startswith("Bearer")
    assert b"SLIPWAY_METRICS_TOKEN" in anonymous.content and b"slipway_" not in anonymous.content
    wrong = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN[:-1]}x")
    assert wrong.status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    client.force_login(users["manager"])
    refused = client.get("/metrics")
    assert refused.status_code == 403 and b"Only Platform admins" in refused.content
    client.force_login(users["admin"])
    assert client.get("/metrics").status_code == 200
    settings.SLIPWAY_METRICS_TOKEN = ""  # no token configured: no empty bearer gets in
    client.logout()
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_http_requests_are_counted_by_view_name_never_by_raw_path(client, scraper):
    key = ("slipway_http_requests_total", frozenset({"view": "healthz", "method": "GET", "status": "200"}.items()))
    before = samples(scraper()).get(key, 0)
    client.get("/healthz")
    client.get(f"/no-such-page-{uuid.uuid4().hex}/")
    after = samples(scraper())
    assert after[key] == before + 1
    unresolved = {labels for name, labels in after if name == "slipway_http_requests_total"
                  and dict(labels)["view"] == "<unresolved>"}
    assert ("status", "404") in {item for labels in unresolved for item in labels}
    views = {dict(labels).get("view") for name, labels in after if name.startswith("slipway_http_request")}
    assert not any(view and "no-such-page" in view for view in views)
    assert after[("slipway_http_request_duration_seconds_count", frozenset({"view": "healthz"}.items()))] >= 1


def test_rows_by_outcome_and_queue_depth_are_read_at_scrape_time(scraper, settings, redis_url):
    JobFactory.create_batch(2, kind="observe-test", state="failed")
    settings.CELERY_BROKER_URL = f"{redis_url}/6"
    queue = f"observe-metrics-{uuid.uuid4().hex[:8]}"
    settings.SLIPWAY_METRICS_QUEUES = [queue]
    client = Celery("observe-metrics-client", broker=settings.CELERY_BROKER_URL, set_as_current=False)
    try:
        for _ in range(3):
            client.send_task("observe.never-consumed", queue=queue)
        figures = samples(scraper())
    finally:
        with client.connection_for_write() as connection:
            connection.default_channel.queue_purge(queue)
        client.close()
    assert figures[("slipway_jobs", frozenset({"kind": "observe-test", "state": "failed"}.items()))] == 2
    assert figures[("slipway_celery_queue_length", frozenset({"queue": queue}.items()))] == 3
    assert figures[("slipway_celery_broker_up", frozenset())] == 1
    for family in ("slipway_rollouts", "slipway_terraform_runs", "slipway_data_copies"):
        assert f"# TYPE {family} gauge" in scraper().content.decode()


def test_task_durations_and_failures_are_counted_by_task_name(users):
    name = selfcheck.name
    count = ("slipway_celery_task_duration_seconds_count", {"task": name})
    before = REGISTRY.get_sample_value(*count) or 0
    failures = REGISTRY.get_sample_value("slipway_celery_task_failures_total", {"task": name}) or 0
    job = JobFactory(kind="selfcheck", started_by=users["admin"])
    selfcheck.delay(str(job.pk), Actor.for_user(users["admin"]).to_dict())  # eager: runs here
    assert REGISTRY.get_sample_value(*count) == before + 1
    # As a worker runs it (exceptions recorded, not raised into the caller): the job row does not exist.
    result = selfcheck.apply(args=[str(uuid.uuid4()), Actor.for_user(users["admin"]).to_dict()], throw=False)
    assert result.failed()
    assert REGISTRY.get_sample_value("slipway_celery_task_failures_total", {"task": name}) == failures + 1


@pytest.mark.django_db(transaction=True)
async def test_open_websockets_are_a_gauge_by_stream():
    user = await database_sync_to_async(UserFactory)(username="observe-ws", roles=["Platform admins"])
    job = await database_sync_to_async(JobFactory)(started_by=user)
    labels = {"stream": "JobStreamConsumer"}
    before = REGISTRY.get_sample_value("slipway_websocket_connections", labels) or 0
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/jobs/{job.pk}/")
    comm.scope["user"] = user
    assert (await comm.connect(timeout=10))[0]
    assert REGISTRY.get_sample_value("slipway_websocket_connections", labels) == before + 1
    await comm.disconnect()
    assert REGISTRY.get_sample_value("slipway_websocket_connections", labels) == before


def test_a_delivery_that_finds_its_job_leased_elsewhere_is_a_deferral_not_a_run():
    name = selfcheck.name
    count = ("slipway_celery_task_duration_seconds_count", {"task": name})
    deferrals = ("slipway_celery_task_deferrals_total", {"task": name})
    runs, deferred = REGISTRY.get_sample_value(*count) or 0, REGISTRY.get_sample_value(*deferrals) or 0
    job = JobFactory(kind="selfcheck")
    assert job_lease_take(str(job.pk), owner="another-worker", seconds=60)
    assert selfcheck.delay(str(job.pk), Actor.system("test").to_dict()).get() == Job.RUNNING  # eager: runs here
    assert REGISTRY.get_sample_value(*deferrals) == deferred + 1
    assert (REGISTRY.get_sample_value(*count) or 0) == runs
