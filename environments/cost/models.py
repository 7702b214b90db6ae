"""Cost state: a price table per cluster, usage samples (requests x time), and team budgets.

They belong to the ``environments`` app (``environments/models.py`` imports them).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

MONEY = {"max_digits": 14, "decimal_places": 6}


class PriceTable(models.Model):
    """What one hour of a vCPU, a GiB of memory and a node of each instance type costs on a cluster.

    A cluster without a row uses the defaults in ``cost/prices.py`` (public EC2 on-demand prices)."""

    cluster = models.OneToOneField("clusters.Cluster", on_delete=models.CASCADE, related_name="price_table")
    currency = models.CharField(max_length=3, default="USD")
    vcpu_hour = models.DecimalField(**MONEY)
    gib_hour = models.DecimalField(**MONEY)
    # {"m5.large": "0.096", ...}: per node-hour, by the node's node.kubernetes.io/instance-type label.
    node_hours = models.JSONField(default=dict, blank=True)
    default_instance_type = models.CharField(max_length=50, blank=True, default="")
    storage_gib_month = models.DecimalField(**MONEY, default=0)
    source = models.CharField(max_length=300, blank=True, default="")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"prices of {self.cluster}"


class CostSample(models.Model):
    """Usage over one sampling interval: an environment's running pods' requests, a cluster's nodes, or
    an environment's S3 bytes, with its cost at the prices of the time.

    Team, owner and stage are copied at sampling time: a month's figures stay as they were when the
    environment is destroyed or moves team.
    """

    PODS, NODES, STORAGE = "pods", "nodes", "storage"
    KINDS = [(PODS, "Pods (requests)"), (NODES, "Nodes"), (STORAGE, "S3 storage")]

    kind = models.CharField(max_length=10, choices=KINDS)
    cluster = models.ForeignKey("clusters.Cluster", on_delete=models.CASCADE, related_name="cost_samples")
    environment = models.ForeignKey("environments.Environment", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="cost_samples")
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    stage = models.CharField(max_length=10, blank=True, default="")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    seconds = models.FloatField()
    cpu_cores = models.FloatField(default=0)
    memory_gib = models.FloatField(default=0)
    pods = models.PositiveIntegerField(default=0)
    nodes = models.JSONField(default=dict, blank=True)  # {"m5.large": 3}
    bytes = models.BigIntegerField(default=0)
    # State of the environment over the interval: awake, asleep or idle (awake without activity).
    asleep = models.BooleanField(default=False)
    idle = models.BooleanField(default=False)
    cost = models.DecimalField(**MONEY, default=0)
    # What the interval would have cost had the environment been awake (the saving is the difference).
    would_cost = models.DecimalField(**MONEY, default=0)
    currency = models.CharField(max_length=3, default="USD")

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["team", "started_at"], name="cost_sample_team_idx"),
            models.Index(fields=["environment", "started_at"], name="cost_sample_environment_idx"),
            models.Index(fields=["cluster", "kind", "started_at"], name="cost_sample_cluster_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.environment_id or self.cluster_id} {self.started_at:%Y-%m-%d %H:%M}"


class TeamBudget(models.Model):
    """A team's monthly budget; a notice goes out once at 80 % and once at 100 % of each month."""

    team = models.OneToOneField("accounts.Team", on_delete=models.CASCADE, related_name="budget")
    monthly_amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    # "2026-12" once the month's notice at that threshold went out.
    notified_80 = models.CharField(max_length=7, blank=True, default="")
    notified_100 = models.CharField(max_length=7, blank=True, default="")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"budget of {self.team}"
