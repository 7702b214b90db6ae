from django.contrib.auth import get_user_model
from rest_framework import serializers

from . import rules
from .models import Team


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "slug", "name"]


class MeSerializer(serializers.ModelSerializer):
    roles = serializers.SerializerMethodField()
    teams = TeamSerializer(many=True, read_only=True)

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "email", "first_name", "last_name", "roles", "teams"]

    def get_roles(self, user) -> list[str]:
        return sorted(rules.role_names(user))
