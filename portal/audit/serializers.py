from rest_framework import serializers

from .models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", "timestamp", "actor_id", "actor_name", "actor_kind", "team_slug", "action", "object_type",
                  "object_id", "object_repr", "details", "outcome", "error", "request_id", "source_ip"]
        read_only_fields = fields
