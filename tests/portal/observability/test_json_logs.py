"""JSON log lines carry the request id from the web request into the task it queues and its job."""

import io
import json
import logging
import re

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.jobs.models import Job
from portal.observability.json_logs import JsonFormatter, LogContextFilter, logging_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_lines():
    """Everything logged, formatted as the JSON handler does; returns the parsed lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(LogContextFilter())
    root, loggers = logging.getLogger(), [logging.getLogger(name) for name in ("slipway.access", "slipway.tasks")]
    levels = [(logger, logger.level) for logger in [root, *loggers]]
    for logger in [root, *loggers]:
        logger.setLevel(logging.INFO)
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]  # every line parses
    root.removeHandler(handler)
    for logger, level in levels:
        logger.setLevel(level)


@pytest.mark.django_db(transaction=True)  # on_commit runs inside the request, as in production
def test_a_request_id_reaches_the_task_its_job_and_every_log_line(client, users, settings, json_lines):
    settings.SLIPWAY_TRUSTED_PROXIES = 1  # the id is taken from a proxy (a client's own is replaced)
    client.force_login(users["admin"])
    response = client.post("/jobs/selfcheck/", HTTP_X_REQUEST_ID="abc123", REMOTE_ADDR="192.0.2.1",
                           HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert response.status_code == 302 and response["X-Request-ID"] == "abc123"
    job = Job.objects.get(kind="selfcheck")
    assert (job.state, job.request_id) == ("succeeded", "abc123"), job.error
    lines = json_lines()
    task_lines = [line for line in lines if line.get("task") == "portal.jobs.selfcheck"]
    assert task_lines[0]["message"] == "task portal.jobs.selfcheck started"
    assert task_lines[-1]["message"].startswith("task portal.jobs.selfcheck success in ")
    access = [line for line in lines if line["logger"] == "slipway.access"]
    assert access and access[0]["message"].startswith("POST /jobs/selfcheck/ 302 ")
    web_side = [line for line in lines if line.get("path") == "/jobs/selfcheck/"]
    assert f"job {job.pk} (selfcheck) queued by admin" in [line["message"] for line in web_side]
    assert len(task_lines) >= 2
    for line in task_lines + web_side:
        assert (line["request_id"], line["user"]) == ("abc123", "admin"), line
        assert set(line) >= {"time", "level", "logger", "message", "request_id", "user"}
    # The job page's header shows the id the logs carry.
    assert b"abc123" in client.get(f"/jobs/{job.pk}/").content


def test_a_bad_or_untrusted_request_id_is_replaced(client, settings, json_lines):
    settings.SLIPWAY_TRUSTED_PROXIES = 1
    bad = client.get("/healthz", HTTP_X_REQUEST_ID='abc"123 <script>', REMOTE_ADDR="192.0.2.1")
    assert re.fullmatch(r"[0-9a-f]{32}", bad["X-Request-ID"])
    long = client.get("/healthz", HTTP_X_REQUEST_ID="a" * 65, REMOTE_ADDR="192.0.2.1")
    assert re.fullmatch(r"[0-9a-f]{32}", long["X-Request-ID"])
    settings.SLIPWAY_TRUSTED_PROXIES = 0  # no proxy: the header is the client's own text
    untrusted = client.get("/healthz", HTTP_X_REQUEST_ID="abc123")
    assert untrusted["X-Request-ID"] != "abc123"
    lines = json_lines()
    access = [line for line in lines if line["logger"] == "slipway.access"]
    assert [line["request_id"] for line in access] == [bad["X-Request-ID"], long["X-Request-ID"],
                                                       untrusted["X-Request-ID"]]
    # Django logs a refusal after the middleware chain has returned: the line still carries the id.
    refused = client.get("/metrics")
    warning = next(line for line in json_lines()[len(lines):] if line["logger"] == "django.request")
    assert (warning["message"], warning["request_id"]) == ("Unauthorized: /metrics", refused["X-Request-ID"])


def test_secrets_are_masked_in_json_lines(json_lines):
    logging.getLogger("slipway.test").warning("connecting to redis://:hunter2-secret@cache:6379/0")
    line = json_lines()[-1]
    assert "hunter2-secret" not in json.dumps(line) and line["request_id"] is None


def test_an_unknown_log_format_refuses_to_start(settings):
    with pytest.raises(ImproperlyConfigured, match="SLIPWAY_LOG_FORMAT must be text or json"):
        logging_settings(settings.LOGGING, "yaml")
    assert logging_settings(settings.LOGGING, "json")["handlers"]["console"]["formatter"] == "json"
