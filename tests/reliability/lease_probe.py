"""The Celery app the workers of ``test_job_lease`` run: Slipway's own app plus a test-only job kind whose body
counts its runs in Redis and then waits until the test lets it finish (a job longer than the visibility timeout).
"""

import time

import django
import redis
from django.apps import apps
from django.conf import settings

from portal.celery import app

if not apps.ready:  # a worker imports this module before Celery's Django fix-up sets Django up
    django.setup()

from portal.jobs.runner import job_task  # after setup: it imports models

__all__ = ["app", "lease_probe"]

TASK = "tests.lease_probe"


def runs_key(job_id: str) -> str:
    return f"lease-probe:{job_id}:runs"


def release_key(job_id: str) -> str:
    return f"lease-probe:{job_id}:release"


def run_probe(job, reporter, actor) -> None:
    """The side effect the test counts (one INCR per run of the body), then a wait for the release key."""
    broker = redis.Redis.from_url(settings.REDIS_URL)
    run = broker.incr(runs_key(str(job.pk)))
    reporter.log(f"probe run {run} started")
    reporter.flush()
    while not broker.exists(release_key(str(job.pk))):
        time.sleep(0.1)
    reporter.log(f"probe run {run} released")


lease_probe = job_task(TASK, authorize=lambda user, job: True)(run_probe)
