"""The chaos API's shapes. The write serializers are also the YAML document's schema
(``experiment_document``), so the API and the document accept exactly the same fields."""

from __future__ import annotations

import zoneinfo

from rest_framework import serializers

from .models import ChaosExperiment, ChaosKillSwitch, ChaosRun, ChaosSettings

_USER = {"read_only": True, "slug_field": "username"}


class ChaosSettingsSerializer(serializers.ModelSerializer):
    environment = serializers.CharField(source="environment.name", read_only=True)
    approved_by = serializers.SlugRelatedField(**_USER)
    halted_by = serializers.SlugRelatedField(**_USER)

    class Meta:
        model = ChaosSettings
        fields = ["environment", "enabled", "approved_by", "approved_at", "approval_reason", "halted", "halted_by",
                  "halted_at", "slo_seconds", "availability_target", "badge_runs", "updated_at"]
        read_only_fields = fields


class ChaosSettingsWriteSerializer(serializers.Serializer):
    """Every field optional (PATCH); production's ``enabled: true`` needs ``approval_reason`` (admins)."""

    enabled = serializers.BooleanField(required=False)
    slo_seconds = serializers.IntegerField(min_value=1, max_value=3600, required=False)
    availability_target = serializers.FloatField(min_value=0, max_value=100, required=False)
    badge_runs = serializers.IntegerField(min_value=1, max_value=50, required=False)
    approval_reason = serializers.CharField(max_length=300, required=False, allow_blank=True)


class ChaosExperimentWriteSerializer(serializers.Serializer):
    """An experiment as written (API and document). Names the service's fields one to one."""

    name = serializers.RegexField(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", max_length=63,
                                  error_messages={"invalid": "Use lower-case letters, digits and dashes "
                                                             "(a DNS label, at most 63 characters)."})
    fault = serializers.ChoiceField(choices=ChaosExperiment.FAULTS)
    target = serializers.CharField(max_length=63, required=False, allow_blank=True, default="",
                                   help_text="component (or backing service); empty = a random component each run")
    percent = serializers.IntegerField(min_value=1, max_value=100, required=False, default=50)
    duration_seconds = serializers.IntegerField(min_value=1, max_value=3600, required=False, default=30)
    schedule = serializers.ChoiceField(choices=ChaosExperiment.SCHEDULES, required=False, default=ChaosExperiment.ONCE)
    interval_seconds = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    cron = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    window_days = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=7), required=False,
                                        default=list, help_text="ISO weekdays 1 (Monday) … 7; empty = any day")
    window_start = serializers.TimeField(required=False, allow_null=True, default=None)
    window_end = serializers.TimeField(required=False, allow_null=True, default=None)
    timezone = serializers.CharField(max_length=64, required=False, default="UTC")
    max_down_percent = serializers.IntegerField(min_value=1, max_value=100, required=False, default=100)

    def validate_timezone(self, value: str) -> str:
        if value not in zoneinfo.available_timezones():
            raise serializers.ValidationError("Unknown time zone; use a name such as Europe/Berlin or UTC.")
        return value


class ChaosExperimentSerializer(serializers.ModelSerializer):
    environment = serializers.IntegerField(source="environment_id", read_only=True)
    environment_name = serializers.CharField(source="environment.name", read_only=True)

    class Meta:
        model = ChaosExperiment
        fields = ["id", "environment", "environment_name", "name", "fault", "target", "percent", "duration_seconds",
                  "schedule", "interval_seconds", "cron", "window_days", "window_start", "window_end", "timezone",
                  "max_down_percent", "paused", "next_run_at", "created_at", "updated_at"]
        read_only_fields = fields


class PauseSerializer(serializers.Serializer):
    paused = serializers.BooleanField(default=True, help_text="true pauses the schedule, false resumes it")


class ChaosRunSerializer(serializers.ModelSerializer):
    environment = serializers.IntegerField(source="environment_id", read_only=True)
    environment_name = serializers.CharField(source="environment.name", read_only=True)
    experiment = serializers.IntegerField(source="experiment_id", read_only=True)
    experiment_name = serializers.CharField(source="experiment.name", read_only=True)
    job = serializers.UUIDField(source="job_id", read_only=True, allow_null=True)
    started_by = serializers.SlugRelatedField(**_USER)

    class Meta:
        model = ChaosRun
        fields = ["id", "environment", "environment_name", "experiment", "experiment_name", "fault", "status",
                  "status_message", "trigger", "started_by", "revision_number", "job", "target", "slo_seconds",
                  "started_at", "injected_at", "recovered_at", "recovery_seconds", "availability_percent",
                  "within_slo", "finished_at", "created_at"]
        read_only_fields = fields


class ChaosEventSerializer(serializers.Serializer):
    at = serializers.CharField()
    kind = serializers.CharField()
    message = serializers.CharField()


class ChaosRunDetailSerializer(ChaosRunSerializer):
    events = ChaosEventSerializer(many=True, read_only=True)
    unavailable = serializers.DictField(child=serializers.FloatField(), read_only=True,
                                        help_text="service → seconds without a ready endpoint")

    class Meta(ChaosRunSerializer.Meta):
        fields = [*ChaosRunSerializer.Meta.fields, "unavailable", "events", "heartbeat_at"]
        read_only_fields = fields


class KillSwitchSerializer(serializers.Serializer):
    engage = serializers.BooleanField(help_text="true stops every running experiment and undoes its faults; "
                                                "false releases the switch")


class GlobalKillSwitchSerializer(serializers.ModelSerializer):
    engaged_by = serializers.SlugRelatedField(**_USER)

    class Meta:
        model = ChaosKillSwitch
        fields = ["engaged", "engaged_by", "engaged_at", "reason"]
        read_only_fields = fields


class KillSwitchReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class _StatsFields(serializers.Serializer):
    count = serializers.IntegerField(help_text="measured runs (recovered or not)")
    p50_seconds = serializers.FloatField(allow_null=True)
    p95_seconds = serializers.FloatField(allow_null=True)
    max_seconds = serializers.FloatField(allow_null=True)
    availability_percent = serializers.FloatField(allow_null=True)
    outside_slo = serializers.IntegerField(help_text="measured runs that did not recover within the SLO")


class ChaosStatsSerializer(_StatsFields):
    by_fault = serializers.DictField(child=_StatsFields(), help_text="the same numbers per fault")


class ChaosBadgeSerializer(serializers.Serializer):
    ready = serializers.BooleanField(help_text="the environment holds the chaos-ready badge")
    revision_number = serializers.IntegerField(allow_null=True, help_text="the revision it was earned on")
    runs = serializers.IntegerField(allow_null=True)
    p95_seconds = serializers.FloatField(allow_null=True)
    slo_seconds = serializers.IntegerField(allow_null=True)
    availability_target = serializers.FloatField(allow_null=True)


class RevisionComparisonSerializer(serializers.Serializer):
    a = serializers.IntegerField()
    b = serializers.IntegerField()
    stats_a = _StatsFields()
    stats_b = _StatsFields()
    verdict = serializers.CharField(help_text="more fragile, sturdier, about the same or not enough data")
    sentence = serializers.CharField()


class DocumentAppliedSerializer(serializers.Serializer):
    settings_changed = serializers.BooleanField()
    created = serializers.ListField(child=serializers.CharField())
    updated = serializers.ListField(child=serializers.CharField())
    deleted = serializers.ListField(child=serializers.CharField())
