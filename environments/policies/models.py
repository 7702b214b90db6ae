"""Policy state: rules per stage, quotas (a default and per team), and requests for environments that
need a Platform admin's approval before they are created.

They belong to the ``environments`` app (``environments/models.py`` imports them).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce


class StagePolicy(models.Model):
    """Rules for one stage (dev, qa, staging, prod); a stage without a row has no extra rules."""

    stage = models.CharField(max_length=10, unique=True)
    default_ttl_hours = models.PositiveIntegerField(null=True, blank=True)
    max_ttl_hours = models.PositiveIntegerField(null=True, blank=True)
    # Role (group) names allowed to create in this stage; empty: the default rules (authz) only.
    allowed_roles = models.JSONField(default=list, blank=True)
    # Environments of this stage must keep a sleep schedule (their own or a default) enabled.
    sleep_schedule_required = models.BooleanField(default=False)
    # Creation is a request a Platform admin approves or refuses (production by default).
    requires_approval = models.BooleanField(default=False)
    # Any activity pushes the expiry forward to at least now + the stage's default TTL.
    extend_on_activity = models.BooleanField(default=False)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "stage policies"

    def __str__(self) -> str:
        return f"policy of stage {self.stage}"


class QuotaPolicy(models.Model):
    """How many live environments one user and one team may have: the default (no team) or a team's own."""

    team = models.OneToOneField("accounts.Team", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="quota_policy")
    max_per_user = models.PositiveIntegerField(null=True, blank=True)
    max_per_team = models.PositiveIntegerField(null=True, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "quota policies"
        constraints = [models.UniqueConstraint(Coalesce("team", 0), name="quota_policy_one_per_team_one_default")]

    def __str__(self) -> str:
        return f"quota of {self.team or 'every team'}"


class EnvironmentRequest(models.Model):
    """An environment asked for in a stage that needs approval: created when a Platform admin approves."""

    PENDING, APPROVED, REFUSED, CANCELLED = "pending", "approved", "refused", "cancelled"
    STATES = [(PENDING, "Waiting for approval"), (APPROVED, "Approved"), (REFUSED, "Refused"),
              (CANCELLED, "Cancelled")]

    state = models.CharField(max_length=10, choices=STATES, default=PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    # What environment_create needs, as asked.
    name = models.CharField(max_length=63)
    cluster = models.ForeignKey("clusters.Cluster", on_delete=models.CASCADE, related_name="+")
    blueprint = models.ForeignKey("environments.Blueprint", on_delete=models.CASCADE, related_name="+")
    stage = models.CharField(max_length=10)
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="environment_requests")
    versions = models.JSONField(default=dict, blank=True)
    ttl_hours = models.PositiveIntegerField(null=True, blank=True)
    strategy = models.CharField(max_length=10, default="rolling")
    justification = models.CharField(max_length=500, blank=True, default="")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(max_length=500, blank=True, default="")
    environment = models.ForeignKey("environments.Environment", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["cluster", "name"], condition=Q(state="pending"),
                                    name="environment_request_one_pending_per_name"),
        ]

    def __str__(self) -> str:
        return f"request for {self.name} ({self.stage})"
