"""The orphan API's shapes: a finding as the list shows it, the totals, and the removal request."""

from __future__ import annotations

from rest_framework import serializers

from .models import Orphan


class OrphanSerializer(serializers.ModelSerializer):
    removed_by = serializers.CharField(source="removed_by.username", read_only=True, default=None)
    cost_basis = serializers.SerializerMethodField(help_text="how the monthly cost was estimated")

    class Meta:
        model = Orphan
        fields = ["id", "kind", "location", "name", "state", "monthly_cost", "currency", "cost_basis", "details",
                  "found_at", "last_seen_at", "removed_at", "removed_by", "error"]
        read_only_fields = fields

    def get_cost_basis(self, orphan: Orphan) -> str:
        return (orphan.details or {}).get("cost_basis", "")


class OrphanTotalSerializer(serializers.Serializer):
    currency = serializers.CharField()
    total = serializers.DecimalField(max_digits=18, decimal_places=6, help_text="monthly cost of the open orphans")


class OrphanRemovalSerializer(serializers.Serializer):
    orphans = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=500,
                                    help_text="ids of found (or failed) orphans to remove")
    confirm = serializers.BooleanField(help_text="must be true: the orphans are deleted for good")

    def validate_confirm(self, value: bool) -> bool:
        if not value:
            raise serializers.ValidationError("Set confirm to true: the orphans are deleted for good.")
        return value
