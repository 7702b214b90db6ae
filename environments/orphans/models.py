"""Orphans: what Slipway created and no longer tracks, found by the sweeper and removed on confirmation.

They belong to the ``environments`` app (``environments/models.py`` imports them).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Orphan(models.Model):
    """One thing found by a sweep: a namespace, database, Redis prefix, S3 prefix or bucket, DNS name or
    Terraform state/working directory that no live Slipway object owns."""

    NAMESPACE, DATABASE, REDIS_PREFIX, S3_PREFIX, S3_BUCKET = "namespace", "database", "redis", "s3-prefix", "s3-bucket"
    DNS_RECORD, TERRAFORM_STATE, TERRAFORM_DIR = "dns", "tf-state", "tf-dir"
    KINDS = [(NAMESPACE, "Kubernetes namespace"), (DATABASE, "Database"), (REDIS_PREFIX, "Redis key prefix"),
             (S3_PREFIX, "S3 prefix"), (S3_BUCKET, "S3 bucket"), (DNS_RECORD, "Route 53 record"),
             (TERRAFORM_STATE, "Terraform state"), (TERRAFORM_DIR, "Terraform working directory")]
    FOUND, REMOVING, REMOVED, GONE, FAILED = "found", "removing", "removed", "gone", "failed"
    STATES = [(FOUND, "Found"), (REMOVING, "Removing"), (REMOVED, "Removed"), (GONE, "Gone by itself"),
              (FAILED, "Removal failed")]

    kind = models.CharField(max_length=12, choices=KINDS)
    # Where it lives (cluster, data server, bucket, hosted zone) and its name there.
    location = models.CharField(max_length=200)
    name = models.CharField(max_length=500)
    details = models.JSONField(default=dict, blank=True)
    monthly_cost = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    state = models.CharField(max_length=10, choices=STATES, default=FOUND)
    found_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()
    removed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    removed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["kind", "location", "name"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "location", "name"], condition=Q(state__in=["found", "removing"]),
                                    name="orphan_one_open_per_thing"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.location}/{self.name}"
