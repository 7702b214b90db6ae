"""Kubernetes clusters Slipway deploys into, and the Terraform runs that create, change and destroy them."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from portal.crypto import EncryptedTextField


class Cluster(models.Model):
    LOCAL = "local"
    EXISTING = "existing"
    AWS_EKS = "aws-eks"
    KINDS = [(LOCAL, "Local control plane"), (EXISTING, "Existing (kubeconfig)"), (AWS_EKS, "AWS EKS")]

    UNKNOWN = "unknown"
    READY = "ready"
    UNREACHABLE = "unreachable"
    PENDING = "pending"
    PROVISIONING = "provisioning"
    FAILED = "failed"
    DESTROYING = "destroying"
    DESTROYED = "destroyed"
    STATUSES = [(UNKNOWN, "Unknown"), (READY, "Ready"), (UNREACHABLE, "Unreachable"), (PENDING, "Pending"),
                (PROVISIONING, "Provisioning"), (FAILED, "Failed"), (DESTROYING, "Destroying"),
                (DESTROYED, "Destroyed")]
    TERRAFORM_KINDS = frozenset({LOCAL, AWS_EKS})

    DRIFT_UNKNOWN = "unknown"
    IN_SYNC = "in_sync"
    DRIFTED = "drifted"
    DRIFT_STATUSES = [(DRIFT_UNKNOWN, "Not checked"), (IN_SYNC, "In sync"), (DRIFTED, "Drifted")]

    name = models.SlugField(max_length=63, unique=True)
    kind = models.CharField(max_length=20, choices=KINDS)
    api_server = models.CharField(max_length=300, blank=True, default="")
    kubeconfig = EncryptedTextField(blank=True, default="")
    is_default = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=STATUSES, default=UNKNOWN)
    status_message = models.CharField(max_length=500, blank=True, default="")
    server_version = models.CharField(max_length=50, blank=True, default="")
    node_count = models.PositiveIntegerField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    # Terraform-managed clusters (kinds local and aws-eks): inputs, outputs and where the state lives.
    managed_by_terraform = models.BooleanField(default=False)
    region = models.CharField(max_length=30, blank=True, default="")
    kubernetes_version = models.CharField(max_length=20, blank=True, default="")
    node_groups = models.JSONField(default=list, blank=True,
                                   help_text="[{name, instance_types, min_size, max_size, desired_size}]")
    terraform_vars = models.JSONField(default=dict, blank=True, help_text="blueprint-specific inputs")
    ca_data = models.TextField(blank=True, default="", help_text="the API server's CA bundle (public)")
    ingress_hostname = models.CharField(max_length=300, blank=True, default="")
    state_bucket = models.CharField(max_length=63, blank=True, default="")
    state_key = models.CharField(max_length=300, blank=True, default="")
    # The state's identity after the last run that wrote it: a state that went backwards is refused.
    state_lineage = models.CharField(max_length=64, blank=True, default="")
    state_serial = models.PositiveIntegerField(null=True, blank=True)
    drift_status = models.CharField(max_length=10, choices=DRIFT_STATUSES, default=DRIFT_UNKNOWN)
    drift_summary = models.JSONField(default=dict, blank=True)
    drift_checked_at = models.DateTimeField(null=True, blank=True)
    # Health (periodic check): readiness and capacity summed over the nodes.
    nodes_ready = models.PositiveIntegerField(null=True, blank=True)
    allocatable_cpu_millicores = models.BigIntegerField(null=True, blank=True)
    allocatable_memory_bytes = models.BigIntegerField(null=True, blank=True)
    addons = models.JSONField(default=dict, blank=True,
                              help_text="installed add-ons: {name: {version, objects, installed_at}}")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [models.UniqueConstraint(fields=["is_default"], condition=models.Q(is_default=True),
                                               name="one_default_cluster")]

    def __str__(self) -> str:
        return self.name


class TerraformRun(models.Model):
    """One Terraform operation on a cluster: plan, approval, apply of exactly that plan, outputs."""

    PLAN = "plan"
    APPLY = "apply"
    DESTROY = "destroy"
    DRIFT_CHECK = "drift-check"
    ACTIONS = [(PLAN, "Plan only"), (APPLY, "Apply"), (DESTROY, "Destroy"), (DRIFT_CHECK, "Drift check")]

    QUEUED = "queued"
    RUNNING = "running"
    AWAITING_APPROVAL = "awaiting_approval"
    APPLYING = "applying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    STATES = [(QUEUED, "Queued"), (RUNNING, "Planning"), (AWAITING_APPROVAL, "Awaiting approval"),
              (APPLYING, "Applying"), (SUCCEEDED, "Succeeded"), (FAILED, "Failed"), (CANCELLED, "Cancelled"),
              (INTERRUPTED, "Interrupted")]
    ACTIVE = (QUEUED, RUNNING, AWAITING_APPROVAL, APPLYING)
    WORKING = (RUNNING, APPLYING)

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="terraform_runs")
    action = models.CharField(max_length=12, choices=ACTIONS)
    state = models.CharField(max_length=20, choices=STATES, default=QUEUED)
    message = models.CharField(max_length=1000, blank=True, default="")
    plan_summary = models.JSONField(default=dict, blank=True, help_text="{add, change, destroy}")
    plan_resources = models.JSONField(default=list, blank=True, help_text="[{address, type, actions}]")
    plan_file = models.CharField(max_length=500, blank=True, default="")
    log = models.TextField(blank=True, default="", help_text="rendered output, secrets redacted")
    outputs = models.JSONField(default=dict, blank=True, help_text="non-sensitive outputs only")
    lock_info = models.JSONField(default=dict, blank=True, help_text="the state lock seen when it failed")
    # Which process is working on the run, so a reaper can tell a dead worker from a slow one.
    worker_host = models.CharField(max_length=255, blank=True, default="")
    worker_pid = models.PositiveIntegerField(null=True, blank=True)
    terraform_pid = models.PositiveIntegerField(null=True, blank=True)
    plan_job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    apply_job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    started_by_name = models.CharField(max_length=150, blank=True, default="")
    approved_by_name = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    planned_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One run per cluster at a time, enforced by the database so two requests cannot race.
            models.UniqueConstraint(fields=["cluster"], condition=models.Q(state__in=(
                "queued", "running", "awaiting_approval", "applying")), name="one_active_terraform_run"),
        ]

    def __str__(self) -> str:
        return f"{self.cluster.name} {self.action} #{self.pk}"

    @property
    def active(self) -> bool:
        return self.state in self.ACTIVE

    @property
    def has_changes(self) -> bool:
        return any(self.plan_summary.get(k) for k in ("add", "change", "destroy"))
