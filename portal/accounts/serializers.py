from django.contrib.auth import get_user_model
from rest_framework import serializers

from . import rules
from .models import Team
from .services import CREDENTIAL_METHODS, PASSWORD


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "slug", "name"]


class TeamMembersSerializer(TeamSerializer):
    members = serializers.SlugRelatedField(many=True, read_only=True, slug_field="username")

    class Meta(TeamSerializer.Meta):
        fields = [*TeamSerializer.Meta.fields, "members"]

    def to_representation(self, instance: Team) -> dict:
        # The join table has no order: without this, the same team listed its members in any order.
        data = super().to_representation(instance)
        data["members"] = sorted(data["members"])
        return data


class TeamWriteSerializer(serializers.Serializer):
    # Checked by the services (one message for the page and the API), so plain fields here.
    slug = serializers.CharField(max_length=63)
    name = serializers.CharField(max_length=100)
    members = serializers.SlugRelatedField(many=True, required=False, slug_field="username",
                                           queryset=get_user_model().objects.all())


class MeSerializer(serializers.ModelSerializer):
    roles = serializers.SerializerMethodField()
    teams = TeamSerializer(many=True, read_only=True)

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "email", "first_name", "last_name", "roles", "teams"]

    def get_roles(self, user) -> list[str]:
        return sorted(rules.role_names(user))


class UserSerializer(serializers.ModelSerializer):
    roles = serializers.SlugRelatedField(source="groups", many=True, read_only=True, slug_field="name")
    teams = serializers.SlugRelatedField(many=True, read_only=True, slug_field="slug")

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "email", "first_name", "last_name", "is_active", "is_superuser", "roles",
                  "teams", "last_login", "date_joined"]
        read_only_fields = fields

    def to_representation(self, instance) -> dict:
        # Groups have no order of their own (teams do: by name).
        data = super().to_representation(instance)
        data["roles"] = sorted(data["roles"])
        return data


class UserUpdateSerializer(serializers.Serializer):
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    roles = serializers.ListField(child=serializers.CharField(), required=False,
                                  help_text="Exactly these roles: Developers, QA, Managers, Platform admins.")
    teams = serializers.SlugRelatedField(many=True, required=False, slug_field="slug", queryset=Team.objects.all(),
                                         help_text="Exactly these teams (slugs).")


class UserCreateSerializer(UserUpdateSerializer):
    username = serializers.CharField(max_length=150)
    credentials = serializers.ChoiceField(choices=CREDENTIAL_METHODS, default=PASSWORD,
                                          help_text="'password': a one-time password in the response; "
                                                    "'link': a set-password link in the response.")


class CredentialsRequestSerializer(serializers.Serializer):
    credentials = serializers.ChoiceField(choices=CREDENTIAL_METHODS, default=PASSWORD)


class CredentialsSerializer(serializers.Serializer):
    """Shown once: neither the password nor the link can be read again."""

    one_time_password = serializers.CharField(allow_blank=True)
    set_password_url = serializers.CharField(allow_blank=True)


class UserCreatedSerializer(UserSerializer):
    credentials = CredentialsSerializer(read_only=True)

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "credentials"]
        read_only_fields = fields
