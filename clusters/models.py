"""Kubernetes clusters Slipway deploys into. (Terraform runs arrive with the clusters issue.)"""

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
    STATUSES = [(UNKNOWN, "Unknown"), (READY, "Ready"), (UNREACHABLE, "Unreachable")]

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
    # Health (periodic check): readiness and capacity summed over the nodes.
    nodes_ready = models.PositiveIntegerField(null=True, blank=True)
    allocatable_cpu_millicores = models.BigIntegerField(null=True, blank=True)
    allocatable_memory_bytes = models.BigIntegerField(null=True, blank=True)
    # The same definitions as the Terraform side of the clusters issue (inputs of the add-ons).
    region = models.CharField(max_length=30, blank=True, default="")
    node_groups = models.JSONField(default=list, blank=True,
                                   help_text="[{name, instance_types, min_size, max_size, desired_size}]")
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
