"""Long-running work (rollouts, Terraform runs, data copies…) as a job with stored output."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

# Kinds of job that must never run twice at once for one target (a destroy of one environment, add-ons on
# one cluster, the DNS sweep of the installation): the database refuses a second unfinished one.
EXCLUSIVE_KINDS = ("destroy", "cluster-addons", "dns-sweep")


class Job(models.Model):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    STATES = [(QUEUED, "Queued"), (RUNNING, "Running"), (SUCCEEDED, "Succeeded"), (FAILED, "Failed"),
              (CANCELLED, "Cancelled")]
    FINISHED = frozenset({SUCCEEDED, FAILED, CANCELLED})

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=50)
    title = models.CharField(max_length=200)
    target_type = models.CharField(max_length=100, blank=True, default="")
    target_id = models.CharField(max_length=64, blank=True, default="")
    target_repr = models.CharField(max_length=200, blank=True, default="")
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="jobs")
    state = models.CharField(max_length=10, choices=STATES, default=QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    message = models.CharField(max_length=300, blank=True, default="")
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    request_id = models.CharField(max_length=64, blank=True, default="")
    next_seq = models.PositiveIntegerField(default=1)
    # The delivery running the body holds a lease until then (portal/jobs/lease.py); empty when none does.
    lease_owner = models.CharField(max_length=200, blank=True, default="")
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["-created_at"], name="job_created_idx"),
            models.Index(fields=["target_type", "target_id"], name="job_target_idx"),
            models.Index(fields=["kind", "state"], name="job_kind_state_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["kind", "target_type", "target_id"],
                                    condition=models.Q(kind__in=EXCLUSIVE_KINDS, state__in=("queued", "running")),
                                    name="one_active_exclusive_job"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def finished(self) -> bool:
        return self.state in self.FINISHED

    @property
    def group_name(self) -> str:
        return f"job.{self.pk.hex}"


class JobEvent(models.Model):
    """One entry of a job's output: a log chunk, a progress step or a state change."""

    LOG = "log"
    PROGRESS = "progress"
    STATE = "state"
    KINDS = [(LOG, "Log"), (PROGRESS, "Progress"), (STATE, "State")]

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=KINDS)
    text = models.TextField(blank=True, default="")
    progress = models.PositiveSmallIntegerField(null=True, blank=True)
    state = models.CharField(max_length=10, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job", "seq"]
        constraints = [models.UniqueConstraint(fields=["job", "seq"], name="job_event_seq_unique")]

    def __str__(self) -> str:
        return f"{self.job_id}#{self.seq} {self.kind}"

    def as_message(self) -> dict:
        return {"seq": self.seq, "kind": self.kind, "text": self.text, "progress": self.progress,
                "state": self.state, "at": self.created_at.isoformat() if self.created_at else None}
