"""Environments: blueprints of components, versioned desired state, and its rollouts."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from portal.crypto import EncryptedTextField
from portal.derived_names import owner_marker

DNS_LABEL = RegexValidator(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
                           "Use lower-case letters, digits and '-', starting and ending with a letter or digit "
                           "(at most 63 characters).")
STAGES = [("dev", "Development"), ("qa", "QA"), ("staging", "Staging"), ("prod", "Production")]


class Registry(models.Model):
    """A container registry Slipway reads image versions from (ECR, or any Docker Registry HTTP API v2).

    Credentials are written once and never shown again: the API and pages only say whether some are set.
    """

    ECR = "ecr"
    V2 = "v2"
    KINDS = [(ECR, "Amazon ECR"), (V2, "Docker Registry HTTP API v2")]

    name = models.CharField(max_length=63, unique=True, validators=[DNS_LABEL])
    kind = models.CharField(max_length=5, choices=KINDS)
    # v2: the base URL (https://registry.example.com); ECR: empty for the configured endpoint.
    url = models.CharField(max_length=255, blank=True, default="")
    region = models.CharField(max_length=32, blank=True, default="")
    # ECR: {"access_key_id", "secret_access_key"} or empty for the default chain; v2: {"username", "password"}
    # (or {"token"} for a bearer token). JSON, encrypted at rest.
    credentials = EncryptedTextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "registries"

    def __str__(self) -> str:
        return self.name


class Component(models.Model):
    """A deployable Docker image repository with its defaults."""

    name = models.CharField(max_length=63, unique=True, validators=[DNS_LABEL])
    image_repository = models.CharField(max_length=255)
    container_port = models.PositiveIntegerField(null=True, blank=True, default=8080)
    health_check_path = models.CharField(max_length=200, default="/healthz")
    default_env = models.JSONField(default=dict, blank=True)
    command = models.JSONField(default=list, blank=True)
    args = models.JSONField(default=list, blank=True)
    replicas = models.PositiveSmallIntegerField(default=1)
    cpu_request = models.CharField(max_length=20, default="100m")
    memory_request = models.CharField(max_length=20, default="128Mi")
    cpu_limit = models.CharField(max_length=20, default="500m")
    memory_limit = models.CharField(max_length=20, default="512Mi")
    autoscaling_min = models.PositiveSmallIntegerField(null=True, blank=True)
    autoscaling_max = models.PositiveSmallIntegerField(null=True, blank=True)
    ingress_path = models.CharField(max_length=200, null=True, blank=True, default="/")
    # Where its versions are discovered: a repository on a registry (empty: versions are entered by hand).
    registry = models.ForeignKey(Registry, null=True, blank=True, on_delete=models.PROTECT, related_name="components")
    repository = models.CharField(max_length=255, blank=True, default="")
    versions_synced_at = models.DateTimeField(null=True, blank=True)
    versions_sync_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ImageVersion(models.Model):
    """A tag (and digest when known) of a component's repository."""

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="versions")
    tag = models.CharField(max_length=128)
    digest = models.CharField(max_length=80, blank=True, default="")
    pushed_at = models.DateTimeField(null=True, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    # Deleted tags are marked, never deleted: revisions that use them keep pointing at them.
    removed_from_registry = models.BooleanField(default=False)
    removed_at = models.DateTimeField(null=True, blank=True)
    discovered = models.BooleanField(default=False, help_text="found by a registry sync (else entered by hand)")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["component", models.F("pushed_at").desc(nulls_last=True), "-created_at"]
        constraints = [models.UniqueConstraint(fields=["component", "tag"], name="image_version_unique_tag")]

    def __str__(self) -> str:
        return f"{self.component.name}:{self.tag}"


class Blueprint(models.Model):
    """A named, versioned set of components plus backing services and per-stage overrides."""

    name = models.CharField(max_length=63, validators=[DNS_LABEL])
    version = models.PositiveIntegerField(default=1)
    description = models.TextField(blank=True, default="")
    components = models.ManyToManyField(Component, related_name="blueprints")
    # [{"kind": "mariadb"|"redis"|"s3", "name": "db", "version": "11.4"}]
    backing_services = models.JSONField(default=list, blank=True)
    # {"prod": {"web": {"replicas": 3, "autoscaling_min": 3, "autoscaling_max": 10}}}
    stage_overrides = models.JSONField(default=dict, blank=True)
    # What a copy out of production must mask or leave out (migrations_tool/policy.py): ["users.email"] (MariaDB
    # columns), or per store {"mysql": ["users.email"], "redis": ["session:*"], "s3": ["uploads/"]}.
    personal_data = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="blueprint_unique_version")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class Environment(models.Model):
    PENDING = "pending"
    DEPLOYING = "deploying"
    READY = "ready"
    FAILED = "failed"
    DESTROYING = "destroying"
    DESTROYED = "destroyed"
    STATUSES = [(PENDING, "Pending"), (DEPLOYING, "Deploying"), (READY, "Ready"), (FAILED, "Failed"),
                (DESTROYING, "Destroying"), (DESTROYED, "Destroyed")]

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
    # Drift between the rendered revision and the live cluster, per object (see drift.py).
    drift = models.JSONField(default=list, blank=True)
    drift_checked_at = models.DateTimeField(null=True, blank=True)
    # Components following a tag whose digest in the registry moved since the revision (versions.moved_tags).
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
        indexes = [models.Index(fields=["team", "status"], name="environment_team_status_idx")]

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


# Hostname models live in their own module; importing them here registers them with the app.
from .hostnames.models import ClusterDns, DnsSweep, HostnameRecord  # noqa: E402,F401
