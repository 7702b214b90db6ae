"""Creating jobs. Feature services call ``job_create`` inside their own transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from kombu.exceptions import OperationalError as QueueError

from portal.accounts import authz
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.audit.services import audited
from portal.concurrency import refused_when_taken
from portal.outages import QUEUE_MESSAGE, QueueUnavailable

from .models import EXCLUSIVE_KINDS, Job
from .reporting import JobReporter
from .runner import job_finished_audit
from .tasks import selfcheck

logger = logging.getLogger(__name__)


def job_create(*, actor: Actor, kind: str, title: str, task: Any, target: Any = None, team: Any = None,
               on_unqueued: Callable[[str], None] | None = None) -> Job:
    """Save a queued job and enqueue ``task(job_id, actor)`` once the row is committed.

    ``on_unqueued(reason)`` runs when the task cannot be sent (``job_enqueue``): a caller that moved its
    target into a waiting status (pending, destroying) moves it out again there.

    Raises ValidationError when ``kind`` is one of ``models.EXCLUSIVE_KINDS`` and such a job for ``target``
    is still queued or running (decided by the database, so concurrent requests cannot both pass).
    """
    target_type = target._meta.label_lower if target is not None else ""
    target_id = str(target.pk) if target is not None else ""

    def busy() -> ValidationError | None:
        if kind not in EXCLUSIVE_KINDS:
            return None
        active = Job.objects.filter(kind=kind, target_type=target_type, target_id=target_id,
                                    state__in=(Job.QUEUED, Job.RUNNING)).first()
        return None if active is None else ValidationError(
            f"{active.title} is already {active.state} (job {active.pk}); wait for it to finish.")

    with refused_when_taken(busy):  # a savepoint: the caller's transaction survives a refusal
        job = Job.objects.create(
            kind=kind, title=title[:200], team=team, started_by_id=actor.user_id, request_id=actor.request_id,
            target_type=target_type, target_id=target_id, target_repr=str(target)[:200] if target is not None else "",
        )
    # The line that ties a request's log (its request id) to the job it started.
    logger.info("job %s (%s) queued by %s", job.pk, kind, actor.name)
    transaction.on_commit(lambda: job_enqueue(job=job, task=task, actor=actor, on_unqueued=on_unqueued))
    return job


def job_enqueue(*, job: Job, task: Any, actor: Actor, on_unqueued: Callable[[str], None] | None = None) -> None:
    """Send ``task(job_id, actor)`` to the queue, retrying while the broker is unreachable
    (``CELERY_TASK_PUBLISH_RETRY_POLICY`` bounds how long: a Redis restart is waited out).

    Raises QueueUnavailable when the broker stays unreachable, after failing the job with that reason,
    auditing it and calling ``on_unqueued(reason)``: a job is never left queued with no task that will
    ever run it, nor its target waiting for it.
    """
    try:
        task.delay(str(job.pk), actor.to_dict())
    except QueueError as exc:
        logger.warning("job %s (%s): the task queue is unreachable (%s); the job is failed", job.pk, job.kind,
                       type(exc).__name__)
        reporter = JobReporter(job)
        reporter.finish(Job.FAILED, error=QUEUE_MESSAGE)
        job_finished_audit(actor=actor, job=reporter.job, outcome=AuditEvent.FAILURE, error=QUEUE_MESSAGE)
        if on_unqueued is not None:
            on_unqueued(QUEUE_MESSAGE)
        raise QueueUnavailable from None


def selfcheck_start(*, actor: Actor, user: Any) -> Job:
    """Start a self-check of Slipway's own plumbing (database, queue, websockets, AWS endpoint)."""
    with audited(actor=actor, action="selfcheck.start") as scope:
        if not authz.operations_can(user, authz.CHANGE):
            raise PermissionDenied("Only Platform admins can run the self-check.")
        with transaction.atomic():
            job = job_create(actor=actor, kind="selfcheck", title="Self-check", task=selfcheck)
        scope.obj = job
    return job
