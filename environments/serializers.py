from rest_framework import serializers

from clusters.selectors import clusters_for_placement, no_cluster_reason
from portal.accounts.models import Team

from .catalog.versions import reference_of
from .models import STAGES, Blueprint, Environment

# The OpenAPI description of a new environment's expiry (create, request and clone take it alike).
TTL_HOURS_HELP = ("hours until the environment expires. Omitted or null: the stage's default expiry from its "
                  "policy (GET /api/v1/policies/stages/{stage}/: default_ttl_hours, else max_ttl_hours; a stage "
                  "with neither: the environment does not expire). More than the stage's max_ttl_hours is "
                  "refused (400) with the policy's sentence.")


class EnvironmentSerializer(serializers.ModelSerializer):
    cluster = serializers.CharField(source="cluster.name", read_only=True)
    blueprint = serializers.CharField(source="blueprint.__str__", read_only=True)
    team = serializers.CharField(source="team.slug", read_only=True)
    owner = serializers.CharField(source="owner.username", default=None, read_only=True)
    revision = serializers.IntegerField(source="current_revision.number", default=None, read_only=True)
    versions = serializers.SerializerMethodField()

    class Meta:
        model = Environment
        fields = ["id", "name", "cluster", "namespace", "blueprint", "stage", "team", "owner", "status",
                  "status_message", "hostname", "revision", "versions", "strategy", "active_colour", "drift",
                  "drift_checked_at", "moved_tags", "expires_at",
                  "created_at", "updated_at"]
        read_only_fields = fields

    def get_versions(self, environment) -> dict[str, str]:
        revision = environment.current_revision
        return {c["name"]: reference_of(c) for c in revision.snapshot["components"]} if revision else {}


class PlacementClusterField(serializers.SlugRelatedField):
    """A cluster by name; when there is no cluster at all, the error says why and what to do."""

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError:
            reason = no_cluster_reason()
            if reason is not None:
                raise serializers.ValidationError(reason.message) from None
            raise


class EnvironmentCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=59)
    # Cluster, blueprint and team may be left out: the same defaults as the form's apply (the default or
    # only cluster, the only blueprint, the user's team), and a missing one without a default says why.
    cluster = PlacementClusterField(
        slug_field="name", queryset=clusters_for_placement(), required=False,
        error_messages={"does_not_exist": "No cluster named {value} can take environments (it does not exist, "
                                          "is being created or is destroyed)."})
    blueprint = serializers.PrimaryKeyRelatedField(queryset=Blueprint.objects.all(), required=False)
    stage = serializers.ChoiceField(choices=STAGES, default="qa")
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all(), required=False)
    versions = serializers.DictField(child=serializers.CharField(max_length=200), allow_empty=False,
                                     help_text="component name -> image tag, or tag@sha256:<digest> to pin the digest")
    ttl_hours = serializers.IntegerField(min_value=1, max_value=24 * 30, required=False, allow_null=True,
                                         help_text=TTL_HOURS_HELP)
    strategy = serializers.ChoiceField(choices=["rolling", "bluegreen"], default="rolling")


class RevisionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    message = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username", default=None)
    created_at = serializers.DateTimeField()
    versions = serializers.SerializerMethodField()

    def get_versions(self, revision) -> dict[str, str]:
        return {c["name"]: reference_of(c) for c in revision.snapshot["components"]}


class UpdateVersionsSerializer(serializers.Serializer):
    versions = serializers.DictField(child=serializers.CharField(max_length=200), allow_empty=False)
    message = serializers.CharField(max_length=200, required=False, default="")


class RollbackSerializer(serializers.Serializer):
    revision = serializers.IntegerField(min_value=1)


class EnvironmentDestroySerializer(serializers.Serializer):
    confirm_name = serializers.CharField(required=False, help_text="the environment's name, typed to confirm; "
                                         "when given, a different name refuses the destroy")


class ExtendSerializer(serializers.Serializer):
    hours = serializers.IntegerField(min_value=1, max_value=24 * 30)


class DiffRowSerializer(serializers.Serializer):
    component = serializers.CharField()
    field = serializers.CharField()
    before = serializers.JSONField()
    after = serializers.JSONField()


class CloneSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=59)
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all(), required=False,
                                        help_text="default: the source's team, when you may use it")
    stage = serializers.ChoiceField(choices=STAGES, required=False, allow_null=True)
    ttl_hours = serializers.IntegerField(min_value=1, max_value=24 * 30, required=False, allow_null=True,
                                         help_text=TTL_HOURS_HELP)


class PromoteSerializer(serializers.Serializer):
    source = serializers.PrimaryKeyRelatedField(queryset=Environment.objects.all(),
                                                help_text="id of the environment whose versions are promoted")


class CompareRowSerializer(serializers.Serializer):
    object = serializers.CharField()
    path = serializers.CharField()
    a = serializers.JSONField()
    b = serializers.JSONField()
    kind = serializers.ChoiceField(choices=["identity", "version", "override", "backing", "undeclared"])
