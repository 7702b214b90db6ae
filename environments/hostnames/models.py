"""Hostname state: the per-cluster DNS settings, the records Slipway keeps per environment, and
the reports of the orphan sweeper. Kept apart from ``clusters.Cluster`` (one-to-one) so the
cluster model can evolve without touching DNS."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ClusterDns(models.Model):
    """How environments of one cluster get their hostnames."""

    CNAME = "CNAME"
    ALIAS = "ALIAS"
    RECORD_TYPES = [(CNAME, "CNAME to the ingress load balancer"), (ALIAS, "Alias (A) to the ingress load balancer")]

    cluster = models.OneToOneField("clusters.Cluster", on_delete=models.CASCADE, related_name="dns")
    zone_id = models.CharField(max_length=64, help_text="Route 53 hosted zone id, e.g. Z0123456789ABC")
    zone_name = models.CharField(max_length=253, help_text="the zone's domain, without the trailing dot")
    hostname_pattern = models.CharField(max_length=253, default="{environment}.{team}.{zone}")
    record_type = models.CharField(max_length=5, choices=RECORD_TYPES, default=CNAME)
    target = models.CharField(max_length=253, help_text="the cluster's ingress load-balancer hostname")
    # Alias records point into the load balancer's own hosted zone (e.g. Z35SXDOTRQ7X7K for ELB us-east-1).
    target_zone_id = models.CharField(max_length=64, blank=True, default="")
    ttl = models.PositiveIntegerField(default=60)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "cluster DNS settings"
        verbose_name_plural = "cluster DNS settings"

    def __str__(self) -> str:
        return f"{self.cluster} → {self.zone_name}"


class HostnameRecord(models.Model):
    """One DNS name of an environment, as Slipway wrote it (or adopted it) in Route 53."""

    PENDING = "pending"  # to be written by the next rollout
    LIVE = "live"  # written and INSYNC
    RETIRED = "retired"  # to be deleted by the next rollout (renamed away or removed)
    STATES = [(PENDING, "Pending"), (LIVE, "Live"), (RETIRED, "Retired")]

    environment = models.ForeignKey("environments.Environment", on_delete=models.CASCADE,
                                    related_name="hostname_records")
    name = models.CharField(max_length=253)
    type = models.CharField(max_length=5, help_text="CNAME, or A for an alias record")
    value = models.CharField(max_length=253, help_text="CNAME target or alias DNS name")
    alias = models.BooleanField(default=False, help_text="a Route 53 alias record (type A)")
    alias_zone_id = models.CharField(max_length=64, blank=True, default="")
    ttl = models.PositiveIntegerField(default=60)
    zone_id = models.CharField(max_length=64, blank=True, default="")
    extra = models.BooleanField(default=False, help_text="a custom extra hostname, not the primary one")
    # False: an adopted name that someone else manages; Slipway routes it but never writes or deletes it.
    owned = models.BooleanField(default=True)
    state = models.CharField(max_length=8, choices=STATES, default=PENDING)
    change_id = models.CharField(max_length=64, blank=True, default="")
    synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["extra", "name"]
        constraints = [models.UniqueConstraint(fields=["name"], condition=~models.Q(state="retired"),
                                               name="hostname_record_unique_name")]

    def __str__(self) -> str:
        return self.name


class DnsSweep(models.Model):
    """One run of the orphan sweeper over one hosted zone."""

    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    zone_id = models.CharField(max_length=64)
    zone_name = models.CharField(max_length=253)
    owner_id = models.CharField(max_length=100)
    removal_enabled = models.BooleanField(default=False)
    records_seen = models.PositiveIntegerField(default=0)
    owned = models.PositiveIntegerField(default=0, help_text="names carrying this instance's ownership record")
    foreign = models.PositiveIntegerField(default=0, help_text="names owned by another instance or by no one")
    orphans = models.JSONField(default=list, blank=True)  # [{"name", "type", "environment_id", "removed"}]
    change_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"sweep of {self.zone_name} at {self.created_at:%Y-%m-%d %H:%M}"
