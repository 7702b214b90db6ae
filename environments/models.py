"""Environments: versioned desired state built from a blueprint version, and its rollouts.

The catalog's models (``catalog/models.py``) and the hostnames' (``hostnames/models.py``) live in their
sub-domains; importing them here registers them with the app.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper

from portal.crypto import EncryptedTextField
from portal.derived_names import owner_marker

from .catalog.models import DNS_LABEL, STAGES, Blueprint, Component, ImageVersion, Registry  # noqa: F401


class Environment(models.Model):
    PENDING = "pending"
    DEPLOYING = "deploying"
    READY = "ready"
    FAILED = "failed"
    DESTROYING = "destroying"
    DESTROYED = "destroyed"
    SLEEPING = "sleeping"
    ASLEEP = "asleep"
    WAKING = "waking"
    STATUSES = [(PENDING, "Pending"), (DEPLOYING, "Deploying"), (READY, "Ready"), (FAILED, "Failed"),
                (DESTROYING, "Destroying"), (DESTROYED, "Destroyed"), (SLEEPING, "Going to sleep"),
                (ASLEEP, "Asleep"), (WAKING, "Waking up")]

    name = models.CharField(max_length=63, validators=[DNS_LABEL])
    cluster = models.ForeignKey("clusters.Cluster", on_delete=models.PROTECT, related_name="environments")
    namespace = models.CharField(max_length=63)
    blueprint = models.ForeignKey(Blueprint, on_delete=models.PROTECT, related_name="environments")
    stage = models.CharField(max_length=10, choices=STAGES, default="qa")
    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="environments")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                              related_name="environments")
    hostname = models.CharField(max_length=253, blank=True, default="")
    status = models.CharField(max_length=12, choices=STATUSES, default=PENDING)
    status_message = models.TextField(blank=True, default="")
    current_revision = models.ForeignKey("EnvironmentRevision", null=True, blank=True, on_delete=models.SET_NULL,
                                         related_name="+")
    # Blue/green: revisions deploy into the standby colour; Services follow ``active_colour``.
    strategy = models.CharField(max_length=10, choices=[("rolling", "Rolling update"), ("bluegreen", "Blue/green")],
                                default="rolling")
    active_colour = models.CharField(max_length=5, blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)
    expiry_notified_at = models.DateTimeField(null=True, blank=True)
    # Drift between the rendered revision and the live cluster, per object (see drift_checks.py).
    drift = models.JSONField(default=list, blank=True)
    drift_checked_at = models.DateTimeField(null=True, blank=True)
    # Components following a tag whose digest in the registry moved since the revision (catalog/versions.py).
    moved_tags = models.JSONField(default=list, blank=True)
    # JSON {backing service name: password}, generated at creation; never in snapshots, pages or APIs.
    backing_passwords = EncryptedTextField(blank=True, default="")
    # Slipway's ownership marker for what this environment owns outside (namespace annotation, data
    # store registries and tags), fixed at creation so a later change of SLIPWAY_INSTANCE_ID or of the
    # database's address cannot make Slipway disown (and refuse to destroy) its own objects.
    owner_marker = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Destroyed environments keep their history; only live ones reserve the name.
            models.UniqueConstraint(fields=["cluster", "name"], condition=~models.Q(status="destroyed"),
                                    name="environment_unique_live_name"),
        ]
        indexes = [models.Index(fields=["team", "status"], name="environment_team_status_idx"),
                   # Wake on request looks up the environment of a request's Host (case-insensitively).
                   models.Index(Upper("hostname"), name="environment_hostname_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def ownership_marker(self) -> str:
        """The stored marker; rows made without the services (fixtures, benches) get the derived one."""
        return self.owner_marker or owner_marker("environment", self.pk)


class EnvironmentRevision(models.Model):
    """An immutable snapshot of an environment's desired state."""

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    message = models.CharField(max_length=200, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["environment", "-number"]
        constraints = [models.UniqueConstraint(fields=["environment", "number"], name="revision_unique_number")]

    def __str__(self) -> str:
        return f"{self.environment.name} r{self.number}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("revisions are immutable: make a new one")
        super().save(*args, **kwargs)


class Rollout(models.Model):
    """One application of a revision to the cluster, followed through its job."""

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="rollouts")
    revision = models.ForeignKey(EnvironmentRevision, on_delete=models.CASCADE, related_name="rollouts")
    job = models.OneToOneField("jobs.Job", on_delete=models.CASCADE, related_name="rollout")
    results = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.environment.name} r{self.revision.number} rollout"


# The sub-domains (chaos, hostnames, sleep, cost, policies, orphans) keep their models in their own
# packages; importing them here registers them with the app.
from .chaos.models import ChaosExperiment, ChaosKillSwitch, ChaosRun, ChaosSettings, ChaosUndo  # noqa: E402,F401
from .cost.models import CostSample, PriceTable, TeamBudget  # noqa: E402,F401
from .hostnames.models import ClusterDns, DnsSweep, HostnameRecord  # noqa: E402,F401
from .orphans.models import Orphan  # noqa: E402,F401
from .policies.models import EnvironmentRequest, QuotaPolicy, StagePolicy  # noqa: E402,F401
from .sleep.models import SleepSchedule, SleepState  # noqa: E402,F401
