"""Running a job inside a Celery task: lifecycle, failure capture, audit, idempotent re-runs."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from celery import shared_task

from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.audit.services import audit_record

from .models import Job
from .reporting import JobReporter

logger = logging.getLogger(__name__)

JobBody = Callable[[Job, JobReporter, Actor], None]


def execute_job(job_id: str, actor: Actor, body: JobBody) -> str:
    """Run ``body`` for the job unless it already finished; return the job's final state.

    A redelivered task (worker killed mid-run) starts the body again: bodies must converge.
    """
    job = Job.objects.get(pk=job_id)
    if job.finished:
        return job.state
    reporter = JobReporter(job)
    reporter.start()
    try:
        body(reporter.job, reporter, actor)
    except Exception as exc:
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        reporter.flush()
        reporter.finish(Job.FAILED, error=f"{type(exc).__name__}: {exc}")
        outcome, error = AuditEvent.FAILURE, reporter.job.error
    else:
        reporter.flush()
        reporter.finish(Job.SUCCEEDED)
        outcome, error = AuditEvent.SUCCESS, ""
    finished = reporter.job
    audit_record(actor=actor, action=f"job.{finished.state}", obj=finished, object_repr=finished.title,
                 details={"kind": finished.kind, "target": finished.target_repr, "attempts": finished.attempts},
                 outcome=outcome, error=error)
    return finished.state


def job_task(name: str, **options: Any):
    """Turn ``body(job, reporter, actor)`` into a Celery task taking ``(job_id, actor_dict)``."""

    def decorate(body: JobBody):
        @shared_task(name=name, acks_late=True, **options)
        @functools.wraps(body)
        def task(job_id: str, actor: dict[str, Any]) -> str:
            return execute_job(job_id, Actor.from_dict(actor), body)

        return task

    return decorate
