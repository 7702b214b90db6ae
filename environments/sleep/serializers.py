"""The sleep API's bodies: what a sleep or wake request may say, and what an environment's sleep state shows."""

from rest_framework import serializers

from .models import SleepState
from .services import REASONS


class SleepRequestSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=REASONS, default="api", required=False,
                                     help_text="Why (recorded on the sleep state and in the audit log).")


class SleepStateSerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="environment.status", read_only=True,
                                   help_text="The environment's status (ready, sleeping, asleep, waking…).")

    class Meta:
        model = SleepState
        fields = ["status", "replicas", "slept_at", "woke_at", "reason", "wake_requested_at", "last_wake_seconds",
                  "last_activity_at", "last_activity_kind"]
        read_only_fields = fields
        extra_kwargs = {"replicas": {"help_text": (
            'What a sleep saved: {"<Deployment>": replicas, "StatefulSet/<name>": replicas of a backing service '
            "that may sleep}; empty when awake.")}}


class WakeNothingSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="The environment's status: it is not asleep.")
    message = serializers.CharField()
