"""The catalog's models: registries, components with their image versions, and blueprint versions.

They belong to the ``environments`` app (``environments/models.py`` imports them, so the app label and
the tables stay ``environments_*``); environments are built from a blueprint version.
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

from portal.crypto import EncryptedTextField

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
