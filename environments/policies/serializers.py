"""The policies API's shapes: environment requests, stage policies and quotas."""

from __future__ import annotations

from rest_framework import serializers

from portal.accounts.models import Team
from portal.accounts.roles import ALL_ROLES

from ..catalog.models import STAGES
from ..serializers import EnvironmentCreateSerializer
from .models import EnvironmentRequest, QuotaPolicy, StagePolicy

_USER = {"read_only": True, "slug_field": "username"}


class EnvironmentRequestSerializer(serializers.ModelSerializer):
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    cluster = serializers.SlugRelatedField(read_only=True, slug_field="name")
    team = serializers.SlugRelatedField(read_only=True, slug_field="slug")
    blueprint = serializers.StringRelatedField()
    requested_by = serializers.SlugRelatedField(**_USER)
    decided_by = serializers.SlugRelatedField(**_USER)
    environment = serializers.PrimaryKeyRelatedField(read_only=True, help_text="the environment, once approved")

    class Meta:
        model = EnvironmentRequest
        fields = ["id", "state", "state_display", "name", "cluster", "blueprint", "stage", "team", "versions",
                  "ttl_hours", "strategy", "justification", "requested_by", "created_at", "decided_by", "decided_at",
                  "decision_reason", "environment"]
        read_only_fields = fields
        extra_kwargs = {"ttl_hours": {"help_text": "hours the environment will live: as asked, else the stage's "
                                                   "default when the request was made"}}


class EnvironmentRequestCreateSerializer(EnvironmentCreateSerializer):
    """What POST /environments/ takes, plus why the environment is needed; the stage defaults to prod."""

    stage = serializers.ChoiceField(choices=STAGES, default="prod")
    # Checked by the use case ("rolling" or "bluegreen"); a second enum of the same name would collide in the schema.
    strategy = serializers.CharField(max_length=10, default="rolling", help_text="rolling or bluegreen")
    justification = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RefuseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, allow_blank=True, help_text="required: the requester reads it")


class StagePolicySerializer(serializers.ModelSerializer):
    updated_by = serializers.SlugRelatedField(**_USER)
    stored = serializers.SerializerMethodField(help_text="false: the stage's default, no row stored yet")

    class Meta:
        model = StagePolicy
        fields = ["stage", "default_ttl_hours", "max_ttl_hours", "allowed_roles", "sleep_schedule_required",
                  "requires_approval", "extend_on_activity", "updated_by", "updated_at", "stored"]
        read_only_fields = fields

    def get_stored(self, policy: StagePolicy) -> bool:
        return policy.pk is not None


class StagePolicyWriteSerializer(serializers.Serializer):
    """Every field optional (PATCH); empty TTLs mean no limit; the service checks max ≥ default."""

    default_ttl_hours = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    max_ttl_hours = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    allowed_roles = serializers.ListField(child=serializers.ChoiceField(choices=ALL_ROLES), required=False,
                                          help_text="roles that may create in the stage; empty: the usual rules")
    sleep_schedule_required = serializers.BooleanField(required=False)
    requires_approval = serializers.BooleanField(required=False)
    extend_on_activity = serializers.BooleanField(required=False)


class QuotaPolicySerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all(), allow_null=True,
                                        required=False, help_text="empty: the default for every team")
    max_per_user = serializers.IntegerField(min_value=0, allow_null=True, required=False)
    max_per_team = serializers.IntegerField(min_value=0, allow_null=True, required=False)
    updated_by = serializers.SlugRelatedField(**_USER)

    class Meta:
        model = QuotaPolicy
        fields = ["id", "team", "max_per_user", "max_per_team", "updated_by", "updated_at"]
        read_only_fields = ["id", "updated_by", "updated_at"]
        validators = []  # the service sets the one row of a team (or the default): no uniqueness refusal
