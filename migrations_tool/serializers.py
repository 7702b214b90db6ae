from rest_framework import serializers

from clusters.models import Cluster
from environments.models import Environment

from .models import KINDS, DataCopy, DataServer, DataStore


class DataStoreSerializer(serializers.ModelSerializer):
    environment = serializers.CharField(source="environment.name", read_only=True)

    class Meta:
        model = DataStore
        fields = ["id", "environment", "kind", "name", "placement", "host", "port", "user", "database", "prefix",
                  "endpoint_url", "region", "state", "remove_after", "created_at"]
        read_only_fields = fields


class DataServerSerializer(serializers.ModelSerializer):
    cluster = serializers.CharField(source="cluster.name", read_only=True)
    has_password = serializers.SerializerMethodField()

    class Meta:
        model = DataServer
        fields = ["id", "cluster", "kind", "host", "port", "user", "endpoint_url", "region", "mode", "database",
                  "has_password", "created_at"]
        read_only_fields = fields

    def get_has_password(self, server) -> bool:
        return bool(server.password)


class DataServerSetSerializer(serializers.Serializer):
    cluster = serializers.SlugRelatedField(slug_field="name", queryset=Cluster.objects.all())
    kind = serializers.ChoiceField(choices=KINDS)
    host = serializers.CharField(max_length=255, required=False, default="")
    port = serializers.IntegerField(min_value=0, max_value=65535, required=False, default=0)
    user = serializers.CharField(max_length=128, required=False, default="")
    password = serializers.CharField(required=False, default="", write_only=True, trim_whitespace=False)
    endpoint_url = serializers.URLField(required=False, default="")
    region = serializers.CharField(max_length=40, required=False, default="")
    mode = serializers.ChoiceField(choices=["", "db", "prefix"], required=False, default="")
    database = serializers.CharField(max_length=64, required=False, default="")


class DataCopySerializer(serializers.ModelSerializer):
    source = serializers.CharField(source="source.name", read_only=True)
    source_id = serializers.IntegerField(read_only=True)
    target = serializers.CharField(source="target.name", read_only=True)
    target_id = serializers.IntegerField(read_only=True)
    team = serializers.CharField(source="team.slug", read_only=True)
    started_by = serializers.CharField(source="started_by.username", default=None, read_only=True)
    job = serializers.UUIDField(source="job_id", read_only=True)
    undo_job = serializers.UUIDField(source="undo_job_id", read_only=True, allow_null=True)
    job_progress = serializers.IntegerField(source="job.progress", read_only=True)
    restorable = serializers.SerializerMethodField()

    class Meta:
        model = DataCopy
        fields = ["id", "source", "source_id", "target", "target_id", "team", "stores", "options", "state", "error",
                  "progress", "throughput", "verification", "policy_override", "job", "job_progress", "undo_job",
                  "started_by", "created_at", "finished_at", "undo_until", "restorable"]
        read_only_fields = fields

    def get_restorable(self, copy) -> list[str]:
        """The stores whose pre-copy snapshot exists (where the snapshot lives is not shown)."""
        return sorted(copy.snapshots)


class DataCopyCreateSerializer(serializers.Serializer):
    source = serializers.PrimaryKeyRelatedField(queryset=Environment.objects.all())
    target = serializers.PrimaryKeyRelatedField(queryset=Environment.objects.all())
    stores = serializers.ListField(child=serializers.ChoiceField(choices=KINDS), allow_empty=False)
    options = serializers.DictField(required=False, default=dict, help_text=(
        '{"mysql": {"include_tables": [], "exclude_tables": [], "filters": {"orders": "created_at >= '
        'NOW() - INTERVAL 30 DAY"}}, "redis": {...}, "s3": {...}, "masking": {"users.email": "email"}}; rules: '
        "email, name, phone, hash, null, keep, or {\"rule\": \"fixed\", \"value\": ...}"))
    confirm = serializers.CharField(required=False, default="", allow_blank=True,
                                    help_text="the target's name, required when the target is production")
    override_reason = serializers.CharField(required=False, default="", allow_blank=True, max_length=2000,
                                            help_text="Platform admins: why production data that the blueprint "
                                                      "does not mask or exclude may leave production (audited)")

    def validate_options(self, value: dict) -> dict:
        # PostgreSQL's jsonb cannot hold U+0000: a NUL anywhere in the options would fail the copy's
        # row (and the audit event of the refusal) with a server error instead of this answer.
        pending = [value]
        while pending:
            item = pending.pop()
            if isinstance(item, dict):
                pending += [*item.keys(), *item.values()]
            elif isinstance(item, list):
                pending += item
            elif isinstance(item, str) and "\x00" in item:
                raise serializers.ValidationError("Options must not contain NUL characters (\\u0000).")
        return value


class CopySourceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    stage = serializers.CharField()
    team = serializers.CharField()
    kinds = serializers.ListField(child=serializers.ChoiceField(choices=KINDS),
                                  help_text="the kinds of store it shares with the target")


class CopySourcesSerializer(serializers.Serializer):
    target_kinds = serializers.ListField(child=serializers.ChoiceField(choices=KINDS))
    sources = CopySourceSerializer(many=True)
    notes = serializers.ListField(child=serializers.CharField(),
                                  help_text="why environments are left out, or what to do when there is none")
