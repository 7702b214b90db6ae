"""Chaos state: per-environment opt-in and limits, the global kill switch, experiments (what fault,
when), their runs (one fault injected and measured) and the undo ledger of every temporary fault.

They belong to the ``environments`` app (``environments/models.py`` imports them, so the app label and
the tables stay ``environments_*``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ..catalog.models import DNS_LABEL


class ChaosSettings(models.Model):
    """An environment's opt-in to chaos experiments (off by default) and what "recovered" means for it."""

    environment = models.OneToOneField("environments.Environment", on_delete=models.CASCADE,
                                       related_name="chaos_settings")
    enabled = models.BooleanField(default=False)
    # Production: enabling needs a Platform admin's approval, recorded here and audited.
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    approval_reason = models.CharField(max_length=300, blank=True, default="")
    # The per-environment kill switch: while engaged no experiment of the environment runs.
    halted = models.BooleanField(default=False)
    halted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    halted_at = models.DateTimeField(null=True, blank=True)
    # A fault "recovered" when the steady state held again within this many seconds.
    slo_seconds = models.PositiveIntegerField(default=30)
    # The badge needs every one of the last ``badge_runs`` runs on the current revision recovered
    # within the SLO with availability at or above this percentage.
    availability_target = models.FloatField(default=99.0)
    badge_runs = models.PositiveSmallIntegerField(default=3)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "chaos settings"
        verbose_name_plural = "chaos settings"

    def __str__(self) -> str:
        return f"chaos settings of {self.environment}"


class ChaosKillSwitch(models.Model):
    """The global kill switch: one row (pk 1). While engaged no experiment anywhere runs."""

    engaged = models.BooleanField(default=False)
    engaged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    engaged_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        verbose_name = "chaos kill switch"
        verbose_name_plural = "chaos kill switch"

    def __str__(self) -> str:
        return "global chaos kill switch " + ("engaged" if self.engaged else "released")


class ChaosExperiment(models.Model):
    """A fault to inject into one environment, once or on a schedule, within limits."""

    POD_KILL = "pod-kill"  # one random pod of the component
    POD_KILL_PERCENT = "pod-kill-percent"  # ``percent`` % of the component's pods (at least one)
    POD_KILL_ALL = "pod-kill-all"  # every pod of the component
    NODE_FAILURE = "node-failure"  # a node running the component's pods goes NotReady for ``duration``
    BACKING_SCALE_ZERO = "backing-scale-zero"  # a backing service's StatefulSet at 0 for ``duration``
    NETWORK_CUT = "network-cut"  # a NetworkPolicy cuts the component off for ``duration``
    BAD_IMAGE = "bad-image"  # a revision with an image that never starts; Slipway rolls back
    FAULTS = [(POD_KILL, "Kill one pod"), (POD_KILL_PERCENT, "Kill a percentage of pods"),
              (POD_KILL_ALL, "Kill all pods"), (NODE_FAILURE, "Fail a node"),
              (BACKING_SCALE_ZERO, "Scale a backing service to zero"), (NETWORK_CUT, "Cut off the network"),
              (BAD_IMAGE, "Roll out a bad image")]
    # Faults that stay until undone (recorded in the undo ledger before they are injected).
    TEMPORARY = frozenset({NODE_FAILURE, BACKING_SCALE_ZERO, NETWORK_CUT, BAD_IMAGE})

    ONCE = "once"
    INTERVAL = "interval"
    CRON = "cron"
    SCHEDULES = [(ONCE, "Once (run by hand)"), (INTERVAL, "Every N seconds"), (CRON, "Cron expression")]

    environment = models.ForeignKey("environments.Environment", on_delete=models.CASCADE,
                                    related_name="chaos_experiments")
    name = models.CharField(max_length=63, validators=[DNS_LABEL])
    fault = models.CharField(max_length=20, choices=FAULTS)
    # A component (Deployment) or, for backing-scale-zero, a backing service; empty = a random one each run.
    target = models.CharField(max_length=63, blank=True, default="")
    percent = models.PositiveSmallIntegerField(default=50)
    duration_seconds = models.PositiveIntegerField(default=30)
    schedule = models.CharField(max_length=10, choices=SCHEDULES, default=ONCE)
    interval_seconds = models.PositiveIntegerField(null=True, blank=True)
    cron = models.CharField(max_length=100, blank=True, default="")
    # The allowed window: ISO weekdays (1 = Monday … 7 = Sunday) and a time span in ``timezone``;
    # empty days and no times = any time.
    window_days = models.JSONField(default=list, blank=True)
    window_start = models.TimeField(null=True, blank=True)
    window_end = models.TimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    # Blast radius: never more than this percentage of a component's pods down at once (100 = only the
    # fault's own limit; a one-replica component can only be hit with 100).
    max_down_percent = models.PositiveSmallIntegerField(default=100)
    paused = models.BooleanField(default=False)
    next_run_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["environment", "name"]
        constraints = [models.UniqueConstraint(fields=["environment", "name"], name="chaos_experiment_unique_name")]
        indexes = [models.Index(fields=["paused", "next_run_at"], name="chaos_experiment_due_idx")]

    def __str__(self) -> str:
        return f"{self.environment.name}/{self.name}"


class ChaosRun(models.Model):
    """One injection of an experiment's fault, from the steady-state check to recovery (or not)."""

    QUEUED = "queued"
    RUNNING = "running"
    RECOVERED = "recovered"  # the steady state held again within the SLO
    UNRECOVERED = "unrecovered"  # it did not (late, or never within the watch)
    SKIPPED = "skipped"  # not injected: steady state not held, outside the window, blast radius, kill switch
    STOPPED = "stopped"  # the kill switch stopped it; its faults were undone
    INTERRUPTED = "interrupted"  # the worker died mid-run; its faults were undone by the periodic task
    FAILED = "failed"  # an error (the cluster refused, …); its faults were undone
    STATUSES = [(QUEUED, "Queued"), (RUNNING, "Running"), (RECOVERED, "Recovered"),
                (UNRECOVERED, "Did not recover"), (SKIPPED, "Skipped"), (STOPPED, "Stopped"),
                (INTERRUPTED, "Interrupted"), (FAILED, "Failed")]
    ACTIVE = frozenset({QUEUED, RUNNING})
    # Runs that measured a recovery (what statistics and the badge count).
    MEASURED = frozenset({RECOVERED, UNRECOVERED})

    experiment = models.ForeignKey(ChaosExperiment, on_delete=models.CASCADE, related_name="runs")
    # Denormalised from the experiment: "one fault at a time per environment" is a constraint on it.
    environment = models.ForeignKey("environments.Environment", on_delete=models.CASCADE,
                                    related_name="chaos_runs")
    # The revision the environment ran when the fault was injected (the badge and comparisons use it).
    revision = models.ForeignKey("environments.EnvironmentRevision", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="chaos_runs")
    revision_number = models.PositiveIntegerField(null=True, blank=True)
    job = models.OneToOneField("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="chaos_run")
    trigger = models.CharField(max_length=10, choices=[("manual", "By hand"), ("schedule", "Schedule")],
                               default="manual")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    status = models.CharField(max_length=12, choices=STATUSES, default=QUEUED)
    status_message = models.TextField(blank=True, default="")
    fault = models.CharField(max_length=20, choices=ChaosExperiment.FAULTS)
    # What was hit: {"component": …, "pods": [...], "node": …, "statefulset": …, "policy": …, …}
    target = models.JSONField(default=dict, blank=True)
    slo_seconds = models.PositiveIntegerField(default=30)
    started_at = models.DateTimeField(null=True, blank=True)
    injected_at = models.DateTimeField(null=True, blank=True)
    # When the steady state held again (from the watch events' timestamps), and how long that took.
    recovered_at = models.DateTimeField(null=True, blank=True)
    recovery_seconds = models.FloatField(null=True, blank=True)
    # {service name: seconds without a ready endpoint} over the measured window.
    unavailable = models.JSONField(default=dict, blank=True)
    # 100 × (1 − mean over services of unavailable seconds / measured seconds).
    availability_percent = models.FloatField(null=True, blank=True)
    within_slo = models.BooleanField(null=True, blank=True)
    # The timeline: [{"at": iso time, "kind": "fault"|"steady-lost"|"recovered"|"event"|…, "message": …}]
    events = models.JSONField(default=list, blank=True)
    # Written by the worker while it runs; a running run whose heartbeat stopped was interrupted.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Never two faults at once in one environment: one queued or running run per environment.
            models.UniqueConstraint(fields=["environment"], condition=models.Q(status__in=("queued", "running")),
                                    name="chaos_one_active_run_per_environment"),
        ]
        indexes = [models.Index(fields=["environment", "-created_at"], name="chaos_run_env_created_idx"),
                   models.Index(fields=["status"], name="chaos_run_status_idx")]

    def __str__(self) -> str:
        return f"{self.experiment} run {self.pk}"


class ChaosUndo(models.Model):
    """How to take back one temporary fault, written BEFORE the fault is injected.

    The run's worker applies it when ``due_at`` comes; the periodic task applies any that is due and
    not done (a worker that died, a kill switch). Applying one is idempotent.
    """

    SCALE = "scale"  # spec: {"namespace", "kind": "StatefulSet", "name", "replicas"}
    DELETE_NETWORK_POLICY = "delete-network-policy"  # spec: {"namespace", "name"}
    RESTORE_NODE = "restore-node"  # spec: {"node"}
    ROLLBACK = "rollback"  # spec: {"environment": pk, "to_revision": number}
    ACTIONS = [(SCALE, "Scale back"), (DELETE_NETWORK_POLICY, "Delete the NetworkPolicy"),
               (RESTORE_NODE, "Restore the node"), (ROLLBACK, "Roll back")]

    run = models.ForeignKey(ChaosRun, on_delete=models.CASCADE, related_name="undos")
    action = models.CharField(max_length=24, choices=ACTIONS)
    spec = models.JSONField(default=dict)
    due_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at"]
        indexes = [models.Index(fields=["done_at", "due_at"], name="chaos_undo_due_idx")]

    def __str__(self) -> str:
        return f"undo {self.action} of run {self.run_id}"
