"""Serializers of the catalog API. Writes go through ``catalog`` services; these only parse and present."""

from __future__ import annotations

from rest_framework import serializers

from ..personal_data import personal_data_normalised
from .models import Blueprint, Component, ImageVersion, Registry

PERSONAL_DATA_HELP = ('What a copy out of production must mask or leave out, per store: {"mysql": ["table.column"], '
                      '"redis": ["key:pattern*"], "s3": ["prefix/"]}. A store left out is unclassified (its copies '
                      'out of production need a Platform admin\'s written reason); an empty list means nothing '
                      'personal.')


class RegistrySerializer(serializers.ModelSerializer):
    has_credentials = serializers.SerializerMethodField()
    credentials = serializers.DictField(child=serializers.CharField(), write_only=True, required=False,
                                        allow_null=True, help_text=(
                                            "write-only, never returned. ECR: access_key_id, secret_access_key; "
                                            "v2: username + password, or token. Omit to keep, {} to clear."))

    class Meta:
        model = Registry
        fields = ["id", "name", "kind", "url", "region", "has_credentials", "credentials", "created_at"]
        read_only_fields = ["id", "has_credentials", "created_at"]
        extra_kwargs = {"name": {"validators": []}}

    def get_has_credentials(self, registry) -> bool:
        return bool(registry.credentials)


class ComponentSerializer(serializers.ModelSerializer):
    registry = serializers.SlugRelatedField(slug_field="name", queryset=Registry.objects.all(), allow_null=True,
                                            required=False)
    versions_count = serializers.SerializerMethodField()

    class Meta:
        model = Component
        fields = ["id", "name", "image_repository", "container_port", "health_check_path", "default_env", "command",
                  "args", "replicas", "cpu_request", "memory_request", "cpu_limit", "memory_limit",
                  "autoscaling_min", "autoscaling_max", "ingress_path", "registry", "repository",
                  "versions_synced_at", "versions_sync_error", "versions_count"]
        read_only_fields = ["id", "versions_synced_at", "versions_sync_error", "versions_count"]
        extra_kwargs = {"name": {"validators": []}}

    def get_versions_count(self, component) -> int:
        # Lists annotate the count (one query for the page); a single component counts its own.
        total = getattr(component, "versions_total", None)
        return component.versions.count() if total is None else total


class ImageVersionSerializer(serializers.ModelSerializer):
    component = serializers.SlugRelatedField(slug_field="name", queryset=Component.objects.all())
    reference = serializers.SerializerMethodField(help_text="what to give as a version: the tag")
    pinned_reference = serializers.SerializerMethodField(help_text="tag@digest to pin the digest (when known)")

    class Meta:
        model = ImageVersion
        fields = ["id", "component", "tag", "digest", "pushed_at", "size_bytes", "removed_from_registry",
                  "removed_at", "discovered", "created_at", "reference", "pinned_reference"]
        read_only_fields = ["id", "pushed_at", "size_bytes", "removed_from_registry", "removed_at", "discovered",
                            "created_at", "reference", "pinned_reference"]
        validators = []  # uniqueness is the service's, with a clear message

    def get_reference(self, version) -> str:
        return version.tag

    def get_pinned_reference(self, version) -> str | None:
        return f"{version.tag}@{version.digest}" if version.digest else None


MAY_SLEEP_HELP = ("Whether a sleeping environment scales this service's StatefulSet to zero too (and wakes it "
                  "first); false (the default): it stays up while the environment sleeps.")


class BackingServiceSerializer(serializers.Serializer):
    """One backing service of a blueprint version, as shown (a version saved before a key existed shows its
    default)."""

    kind = serializers.CharField(help_text="mariadb, redis or s3.")
    name = serializers.CharField()
    version = serializers.CharField(default="", help_text="Image tag of the in-cluster server; empty: its default.")
    may_sleep = serializers.BooleanField(default=False, help_text=MAY_SLEEP_HELP)


class BlueprintSerializer(serializers.ModelSerializer):
    components = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    backing_services = BackingServiceSerializer(many=True, read_only=True)
    personal_data = serializers.SerializerMethodField(help_text=PERSONAL_DATA_HELP)

    class Meta:
        model = Blueprint
        fields = ["id", "name", "version", "description", "components", "backing_services", "stage_overrides",
                  "personal_data", "created_at"]
        read_only_fields = fields

    def get_personal_data(self, blueprint) -> dict[str, list[str]]:
        return personal_data_normalised(blueprint.personal_data)


class BlueprintWriteSerializer(serializers.Serializer):
    """A blueprint definition; saving it makes the next version (or nothing, when identical to the latest)."""

    name = serializers.CharField(max_length=63)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    components = serializers.ListField(child=serializers.CharField(max_length=63), allow_empty=False)
    # Checked by the service (``blueprint_definition_errors``: a non-boolean may_sleep is refused, not coerced).
    backing_services = serializers.ListField(child=serializers.DictField(), required=False, default=list, help_text=(
        'Each {"kind": "mariadb"|"redis"|"s3", "name", "version" (optional), "may_sleep" (optional boolean)}. '
        "may_sleep: " + MAY_SLEEP_HELP))
    stage_overrides = serializers.DictField(required=False, default=dict)
    # Checked by the service (``personal_data_clean``), like the rest of the definition; left out: kept.
    personal_data = serializers.JSONField(required=False, help_text=PERSONAL_DATA_HELP + " Left out: the latest "
                                          "version's declaration is kept.")


class VersionsSyncSerializer(serializers.Serializer):
    added = serializers.ListField(child=serializers.CharField())
    moved = serializers.ListField(child=serializers.CharField())
    removed = serializers.ListField(child=serializers.CharField())
    restored = serializers.ListField(child=serializers.CharField())
