"""The cost API's shapes."""

from __future__ import annotations

from rest_framework import serializers

from ..models import STAGES

_MONEY = {"max_digits": 20, "decimal_places": 6, "read_only": True}


class CostRowSerializer(serializers.Serializer):
    key = serializers.CharField(allow_null=True, read_only=True, help_text="the group's id, slug or YYYY-MM")
    label = serializers.CharField(read_only=True)
    currency = serializers.CharField(read_only=True)
    cost = serializers.DecimalField(**_MONEY)
    would_cost = serializers.DecimalField(**_MONEY, help_text="with every environment awake and alive")
    saving = serializers.DecimalField(**_MONEY, help_text="would_cost - cost")
    asleep_hours = serializers.FloatField(read_only=True)
    idle_hours = serializers.FloatField(read_only=True)


class CostTotalsSerializer(serializers.Serializer):
    by = serializers.CharField(read_only=True)
    total = CostRowSerializer(read_only=True)
    rows = CostRowSerializer(many=True, read_only=True)


class EnvironmentCostSerializer(serializers.Serializer):
    month = serializers.CharField(read_only=True)
    currency = serializers.CharField(read_only=True)
    per_day = serializers.DecimalField(**_MONEY, allow_null=True,
                                       help_text="its rendered requests for 24 h at its cluster's prices; "
                                                 "null when its current revision cannot be rendered")
    total = CostRowSerializer(read_only=True, help_text="this month so far")


class PricesSerializer(serializers.Serializer):
    """A cluster's prices as read (its table, or the defaults with ``from_table`` false)."""

    cluster = serializers.CharField(read_only=True)
    from_table = serializers.BooleanField(read_only=True)
    currency = serializers.CharField(read_only=True)
    vcpu_hour = serializers.DecimalField(**_MONEY)
    gib_hour = serializers.DecimalField(**_MONEY)
    storage_gib_month = serializers.DecimalField(**_MONEY)
    node_hours = serializers.DictField(child=serializers.CharField(), read_only=True)
    default_instance_type = serializers.CharField(read_only=True)
    source = serializers.CharField(read_only=True)


class PricesWriteSerializer(serializers.Serializer):
    """Amounts as strings or numbers; ``services.price_table_update`` validates them (same sentences as the page)."""

    currency = serializers.CharField(max_length=3, default="USD")
    vcpu_hour = serializers.CharField(max_length=30)
    gib_hour = serializers.CharField(max_length=30)
    storage_gib_month = serializers.CharField(max_length=30)
    node_hours = serializers.DictField(child=serializers.CharField(max_length=30), required=False, default=dict)
    default_instance_type = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    source = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class BudgetSerializer(serializers.Serializer):
    team = serializers.CharField(source="budget.team.slug", read_only=True)
    monthly_amount = serializers.DecimalField(source="budget.monthly_amount", max_digits=12, decimal_places=2,
                                              read_only=True)
    currency = serializers.CharField(source="budget.currency", read_only=True)
    month = serializers.CharField(read_only=True)
    spent = serializers.DecimalField(**_MONEY)
    percent = serializers.DecimalField(max_digits=12, decimal_places=1, read_only=True)
    notified_80 = serializers.CharField(source="budget.notified_80", read_only=True)
    notified_100 = serializers.CharField(source="budget.notified_100", read_only=True)


class BudgetWriteSerializer(serializers.Serializer):
    team = serializers.SlugField(max_length=63)
    monthly_amount = serializers.CharField(max_length=20)
    currency = serializers.CharField(max_length=3, default="USD")


class ForecastRequestSerializer(serializers.Serializer):
    """The create payload (the fields a forecast needs; others are ignored)."""

    cluster = serializers.CharField(max_length=63, help_text="the cluster's name")
    blueprint = serializers.IntegerField(min_value=1, help_text="the blueprint's id")
    stage = serializers.ChoiceField(choices=STAGES)
    team = serializers.SlugField(max_length=63, required=False, allow_blank=True, default="")
    versions = serializers.DictField(child=serializers.CharField(max_length=200), required=False, default=dict)


class ForecastSerializer(serializers.Serializer):
    per_hour = serializers.DecimalField(**_MONEY)
    per_day_running = serializers.DecimalField(**_MONEY)
    per_day_with_schedule = serializers.DecimalField(**_MONEY)
    currency = serializers.CharField(read_only=True)
    schedule = serializers.CharField(read_only=True)
    awake_fraction = serializers.FloatField(read_only=True)
    cpu_cores = serializers.DecimalField(**_MONEY)
    memory_gib = serializers.DecimalField(**_MONEY)
    sentence = serializers.CharField(read_only=True)
