"""Running a job inside a Celery task: lifecycle, failure capture, audit, idempotent re-runs."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from celery import Task, shared_task
from celery.exceptions import Reject
from django.apps import apps
from django.conf import settings
from django.core.exceptions import PermissionDenied
from kombu.exceptions import OperationalError

from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.audit.services import audit_record

from .lease import JobLeaseHeld, JobLeaseLost, LeaseKeeper, job_lease_release, job_lease_take, lease_owner_name
from .models import Job
from .reporting import JobReporter

logger = logging.getLogger(__name__)

JobBody = Callable[[Job, JobReporter, Actor], None]
# (user, job) → may this person still do what the job does? (portal.accounts.authz, per object kind)
JobAuthorization = Callable[[Any, Job], bool]


def job_target(job: Job) -> Any:
    """The object the job acts on (``job_create(target=...)``), or None when it has none or is gone."""
    if not job.target_type:
        return None
    model = apps.get_model(job.target_type)
    return model.objects.filter(pk=job.target_id).first()


def recheck_actor(job: Job, actor: Actor, authorize: JobAuthorization) -> None:
    """Raise PermissionDenied unless the person who queued ``job`` may still do it.

    A queued job can wait (a busy worker, a retry after a crash) while its starter loses a role, a
    team or their account; the task asks the same authorization function as the page did, before
    acting. System actors (beat, expiry) act for the platform and are not re-checked.
    """
    if actor.kind != "user":
        return
    user = actor.user
    if user is None or not authorize(user, job):
        raise PermissionDenied(f"{actor.name} may no longer do this (their account, roles or teams changed "
                               "after it was queued); nothing was done.")


def execute_job(job_id: str, actor: Actor, body: JobBody, authorize: JobAuthorization | None = None) -> str:
    """Run ``body`` for the job unless it already finished; return the job's final state.

    A redelivered task (worker killed mid-run) starts the body again: bodies must converge. While the body
    runs this delivery holds the job's lease (``portal.jobs.lease``); raises ``JobLeaseHeld``, without
    touching the job, when another delivery's unexpired lease holds it.
    """
    job = Job.objects.get(pk=job_id)
    if job.finished:
        return job.state
    owner, seconds = lease_owner_name(), settings.SLIPWAY_JOB_LEASE_SECONDS
    if not job_lease_take(job_id, owner=owner, seconds=seconds):
        return Job.objects.get(pk=job_id).state  # it finished meanwhile
    with LeaseKeeper(job_id, owner, seconds):
        try:
            return _run_body(JobReporter(Job.objects.get(pk=job_id), lease_owner=owner), actor, body, authorize)
        except JobLeaseLost as lost:  # the delivery that took over runs and finishes the job
            logger.error("%s", lost)
            return Job.objects.get(pk=job_id).state
        except BaseException:  # the body stopped unfinished (the process is exiting): a redelivery need not wait
            job_lease_release(job_id, owner=owner)
            raise


def _run_body(reporter: JobReporter, actor: Actor, body: JobBody, authorize: JobAuthorization | None) -> str:
    job = reporter.job
    reporter.start()
    try:
        if authorize is not None:
            recheck_actor(reporter.job, actor, authorize)
        body(reporter.job, reporter, actor)
    except JobLeaseLost:
        raise
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
    job_finished_audit(actor=actor, job=finished, outcome=outcome, error=error)
    return finished.state


def redeliver_later(task: Task, held: JobLeaseHeld) -> str:
    """Send this delivery again (same id, queue and headers) for when ``held``'s lease would run out.

    The first worker then either finished (the next delivery finds the job done and does nothing) or died
    (its lease has run out and the next delivery takes over). The wait stays under half the broker's
    visibility timeout, so the waiting message is not itself handed to a second worker meanwhile.
    """
    task.request.lease_deferred = True  # for the task metrics (portal.observability.task_signals)
    if task.request.is_eager:  # no broker to come back through; the holder finishes the job
        logger.info("%s; not run here", held)
        return Job.RUNNING
    countdown = held.seconds_left + 0.5
    visibility = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}).get("visibility_timeout")
    if visibility:
        countdown = min(countdown, visibility / 2)
    logger.info("%s; this delivery comes back in %.1f s", held, countdown)
    try:
        task.signature_from_request().apply_async(countdown=countdown)
    except OperationalError as exc:
        # Not sent (the broker is unreachable). Acknowledged, this delivery would be gone, and a job whose
        # holder has died would have none left: rejected with requeue, the broker keeps it, and if even the
        # reject cannot reach it, the unacknowledged message comes back after the visibility timeout.
        logger.warning("%s; could not send this delivery again (%s): left to the broker", held, exc)
        raise Reject(f"could not send this delivery again: {exc}", requeue=True) from exc
    return Job.RUNNING


def job_finished_audit(*, actor: Actor, job: Job, outcome: str, error: str = "") -> None:
    """The ``job.<state>`` audit event of a job that just finished (ran, or could not be queued)."""
    audit_record(actor=actor, action=f"job.{job.state}", obj=job, object_repr=job.title,
                 details={"kind": job.kind, "target": job.target_repr, "attempts": job.attempts},
                 outcome=outcome, error=error)


def job_task(name: str, *, authorize: JobAuthorization, **options: Any):
    """Turn ``body(job, reporter, actor)`` into a Celery task taking ``(job_id, actor_dict)``.

    ``authorize(user, job)`` is required: the task re-checks its starter before acting.
    """

    def decorate(body: JobBody):
        @shared_task(name=name, acks_late=True, bind=True, **options)
        @functools.wraps(body)
        def task(self: Task, job_id: str, actor: dict[str, Any]) -> str:
            try:
                return execute_job(job_id, Actor.from_dict(actor), body, authorize)
            except JobLeaseHeld as held:
                return redeliver_later(self, held)

        return task

    return decorate
