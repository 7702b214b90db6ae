from rest_framework import serializers

from .models import Job, JobEvent


class JobSerializer(serializers.ModelSerializer):
    started_by = serializers.CharField(source="started_by.username", default=None, read_only=True)
    team = serializers.CharField(source="team.slug", default=None, read_only=True)

    class Meta:
        model = Job
        fields = ["id", "kind", "title", "target_type", "target_id", "target_repr", "team", "started_by", "state",
                  "progress", "message", "error", "attempts", "request_id", "created_at", "started_at", "finished_at"]
        read_only_fields = fields


class JobEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobEvent
        fields = ["seq", "kind", "text", "progress", "state", "created_at"]
        read_only_fields = fields
