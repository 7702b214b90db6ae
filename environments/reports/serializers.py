"""The reports API's output shapes (read-only; the figures come from environments/reports/selectors.py)."""

from __future__ import annotations

from rest_framework import serializers


class CountRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="team slug, owner's username, stage or age bucket ('' for none)")
    label = serializers.CharField()
    count = serializers.IntegerField()
    list_url = serializers.CharField(help_text="the environment list page showing exactly these environments")


class WeekRowSerializer(serializers.Serializer):
    week = serializers.DateTimeField(help_text="the Monday 00:00 that starts the week")
    created = serializers.IntegerField()
    destroyed = serializers.IntegerField()
    created_url = serializers.CharField()
    destroyed_url = serializers.CharField()


class TeamCostRowSerializer(serializers.Serializer):
    team = serializers.CharField(source="label")
    currency = serializers.CharField()
    cost = serializers.DecimalField(max_digits=20, decimal_places=6)
    would_cost = serializers.DecimalField(max_digits=20, decimal_places=6,
                                          help_text="what it would have cost awake and alive")
    saving = serializers.DecimalField(max_digits=20, decimal_places=6)
    asleep_hours = serializers.FloatField()
    idle_hours = serializers.FloatField()


class MonthCostSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    team = serializers.CharField()
    cost = serializers.DecimalField(max_digits=20, decimal_places=6)


class ReportEnvironmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    team = serializers.CharField(source="team.slug")
    stage = serializers.CharField()
    owner = serializers.CharField(source="owner.username", default=None, allow_null=True)
    status = serializers.CharField()
    cluster = serializers.CharField(source="cluster.name")
    created_at = serializers.DateTimeField()


class IdleEnvironmentSerializer(ReportEnvironmentSerializer):
    last_activity_at = serializers.DateTimeField(allow_null=True)


class ReportSummarySerializer(serializers.Serializer):
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    live = serializers.IntegerField()
    created = serializers.IntegerField(help_text="created in the period")
    destroyed = serializers.IntegerField(help_text="destroyed in the period")
    idle = serializers.IntegerField(help_text="live non-production environments idle for idle_hours")
    currency = serializers.CharField()
    cost = serializers.DecimalField(max_digits=20, decimal_places=6)
    saving = serializers.DecimalField(max_digits=20, decimal_places=6)
