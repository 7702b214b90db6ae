"""A job's body runs on one worker at a time: the lease the running delivery holds on its Job row.

Redis hands a task that has stayed unacknowledged for the visibility timeout to another worker, and it
cannot tell a dead worker from a slow one: a data copy or a Terraform apply that outlasts the timeout would
run twice at once. So the delivery that runs a body holds a lease on the row (``lease_owner``,
``lease_until``), renewed from a thread while the body runs. Another delivery that finds an unexpired lease
of someone else's leaves the job alone and comes back later (``portal.jobs.runner``); once the holder has
died its lease runs out and the next delivery takes over. Times are the database's clock, not the workers'.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import timedelta
from types import TracebackType

from django.db import connection
from django.db.models import DateTimeField, DurationField, ExpressionWrapper, F, Q
from django.db.models.functions import Now

from .models import Job

logger = logging.getLogger(__name__)


class JobLeaseHeld(Exception):
    """Another delivery holds the job's unexpired lease: this one must not run the body."""

    def __init__(self, job_id: str, owner: str, seconds_left: float) -> None:
        super().__init__(f"job {job_id} is running under {owner}'s lease for {seconds_left:.1f} s more")
        self.job_id = job_id
        self.owner = owner
        self.seconds_left = seconds_left


class JobLeaseLost(Exception):
    """Another delivery took the job over (this one stalled past its lease): this one must stop writing."""


def lease_owner_name() -> str:
    """A new owner name for one delivery: host and pid (to find the process) and a token (unique per run)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _until(seconds: float) -> ExpressionWrapper:
    return ExpressionWrapper(Now() + timedelta(seconds=seconds), output_field=DateTimeField())


def job_lease_take(job_id: str, *, owner: str, seconds: float) -> bool:
    """Lease the unfinished job to ``owner`` for ``seconds``; False when the job has finished.

    One UPDATE decides (free, expired, or already ``owner``'s), so two deliveries can never both take it.
    Raises ``JobLeaseHeld`` when another owner's lease has not run out.
    """
    taken = (Job.objects.filter(pk=job_id).exclude(state__in=Job.FINISHED)
             .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=Now()) | Q(lease_owner=owner))
             .update(lease_owner=owner, lease_until=_until(seconds)))
    if taken:
        return True
    job = (Job.objects.filter(pk=job_id)
           .annotate(left=ExpressionWrapper(F("lease_until") - Now(), output_field=DurationField()))
           .values("state", "lease_owner", "left").get())
    if job["state"] in Job.FINISHED:
        return False
    # Between the UPDATE and this read the lease may have just run out: come back at once.
    left = max(job["left"].total_seconds(), 0.0) if job["left"] is not None else 0.0
    raise JobLeaseHeld(job_id, job["lease_owner"], left)


def job_lease_renew(job_id: str, *, owner: str, seconds: float) -> bool:
    """Extend ``owner``'s lease by ``seconds`` from now; False when it is no longer theirs."""
    return bool(Job.objects.filter(pk=job_id, lease_owner=owner).update(lease_until=_until(seconds)))


def job_lease_release(job_id: str, *, owner: str) -> None:
    """End ``owner``'s lease early (its body stopped without finishing the job), so a redelivery need not wait.

    Best effort: a failure is logged and the lease runs out by itself.
    """
    try:
        Job.objects.filter(pk=job_id, lease_owner=owner).update(lease_owner="", lease_until=None)
    except Exception:
        logger.warning("job %s: could not release its lease; it runs out by itself", job_id, exc_info=True)


class LeaseKeeper:
    """``with LeaseKeeper(job_id, owner, seconds):`` renews the lease every third of ``seconds`` meanwhile."""

    def __init__(self, job_id: str, owner: str, seconds: float) -> None:
        self.job_id = job_id
        self.owner = owner
        self.seconds = seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"job-lease-{job_id}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.seconds / 3):
                try:
                    renewed = job_lease_renew(self.job_id, owner=self.owner, seconds=self.seconds)
                except Exception:  # a database blip: two more tries before the lease runs out
                    logger.warning("job %s: could not renew its lease", self.job_id, exc_info=True)
                    connection.close()
                    continue
                if not renewed:
                    logger.error("job %s: its lease was taken over by another delivery while this one ran "
                                 "(this worker stalled for longer than the lease)", self.job_id)
                    return
        finally:
            connection.close()  # this thread's own connection
