"""The sleep schedule API's shapes: a schedule (an environment's own or a default), the values a write
may give (every field optional: PATCH semantics; the service checks them and names the field), and an
environment's sleep overview."""

from __future__ import annotations

from rest_framework import serializers

from portal.accounts.models import Team

from ..catalog.models import STAGES
from .models import SleepSchedule
from .schedule import awake_fraction
from .serializers import SleepStateSerializer  # the sleep part's: one "SleepState" in the OpenAPI document


class SleepScheduleSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    updated_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    awake_percent = serializers.SerializerMethodField()

    class Meta:
        model = SleepSchedule
        fields = ["id", "team", "stage", "enabled", "sleep_cron", "wake_cron", "timezone", "idle_hours",
                  "awake_percent", "updated_by", "updated_at"]
        read_only_fields = fields

    def get_awake_percent(self, schedule: SleepSchedule) -> float:
        """The share of a typical week an environment with this schedule is awake (idle sleep not counted)."""
        return round(awake_fraction(schedule) * 100, 1)


class SleepScheduleWriteSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(required=False)
    sleep_cron = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                       help_text="Five cron fields, e.g. \"0 20 * * 1-5\"; empty: no sleep time.")
    wake_cron = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                      help_text="e.g. \"0 8 * * 1-5\"; empty: it wakes only on request.")
    timezone = serializers.CharField(max_length=64, required=False, help_text="e.g. Europe/Berlin.")
    idle_hours = serializers.FloatField(required=False, allow_null=True,
                                        help_text="Sleep after this many hours without activity; null: never.")


class SleepDefaultCreateSerializer(SleepScheduleWriteSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all(), required=False,
                                        allow_null=True, help_text="A team's slug; empty: every team.")
    stage = serializers.ChoiceField(choices=[("", "every stage"), *STAGES], required=False, default="")


class SleepOverviewSerializer(serializers.Serializer):
    """An environment's schedule (own or inherited) and its sleep state."""

    environment = serializers.CharField(source="environment.name")
    status = serializers.CharField(source="environment.status")
    own = serializers.BooleanField()
    inherited_from = serializers.CharField(help_text="The default's team / stage when inherited; empty otherwise.")
    schedule = SleepScheduleSerializer(allow_null=True)
    state = SleepStateSerializer(allow_null=True)
    next_sleep = serializers.DateTimeField(allow_null=True)
    next_wake = serializers.DateTimeField(allow_null=True)
    awake_percent = serializers.FloatField()
