from rest_framework import serializers

from .models import Cluster, TerraformRun


class ClusterSerializer(serializers.ModelSerializer):
    """Never includes the kubeconfig: credentials stay inside Slipway."""

    class Meta:
        model = Cluster
        fields = ["id", "name", "kind", "api_server", "is_default", "status", "status_message", "server_version",
                  "node_count", "nodes_ready", "allocatable_cpu_millicores", "allocatable_memory_bytes",
                  "last_checked_at", "managed_by_terraform", "region", "kubernetes_version", "node_groups", "addons",
                  "ingress_hostname", "state_bucket", "state_key", "drift_status", "drift_summary",
                  "drift_checked_at", "created_at", "updated_at"]
        read_only_fields = fields


class ClusterRegisterSerializer(serializers.Serializer):
    """An existing cluster: ``kubeconfig``, or ``server`` + ``token`` (+ ``ca_data``). Write-only credentials."""

    name = serializers.SlugField(max_length=63)
    kubeconfig = serializers.CharField(required=False, allow_blank=True, default="", write_only=True,
                                       trim_whitespace=False)
    server = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)
    ca_data = serializers.CharField(required=False, allow_blank=True, default="", write_only=True,
                                    help_text="base64 PEM (certificate-authority-data)")
    token = serializers.CharField(required=False, allow_blank=True, default="", write_only=True)
    make_default = serializers.BooleanField(required=False, default=False)


class NodeGroupSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=63)
    instance_types = serializers.ListField(child=serializers.CharField(max_length=40), required=False)
    min_size = serializers.IntegerField(min_value=0)
    desired_size = serializers.IntegerField(min_value=0)
    max_size = serializers.IntegerField(min_value=0)


class ClusterCreateSerializer(serializers.Serializer):
    """A cluster Terraform creates (kinds local and aws-eks); the first run is started at once."""

    name = serializers.CharField(max_length=40)
    kind = serializers.ChoiceField(choices=[Cluster.LOCAL, Cluster.AWS_EKS])
    region = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    kubernetes_version = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    node_groups = NodeGroupSerializer(many=True, required=False)


class TerraformRunSerializer(serializers.ModelSerializer):
    cluster = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = TerraformRun
        fields = ["id", "cluster", "action", "state", "message", "plan_summary", "plan_resources", "outputs",
                  "lock_info", "started_by_name", "approved_by_name", "plan_job", "apply_job", "created_at",
                  "started_at", "planned_at", "approved_at", "finished_at"]
        read_only_fields = fields


class TerraformRunDetailSerializer(TerraformRunSerializer):
    class Meta(TerraformRunSerializer.Meta):
        fields = [*TerraformRunSerializer.Meta.fields, "log"]
        read_only_fields = fields


class RunStartSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=[TerraformRun.PLAN, TerraformRun.APPLY, TerraformRun.DRIFT_CHECK])


class DestroySerializer(serializers.Serializer):
    confirm_name = serializers.CharField(help_text="the cluster's name, typed to confirm")


class ForceUnlockSerializer(serializers.Serializer):
    lock_id = serializers.CharField(max_length=100, help_text="the ID of the held lock (see GET …/lock/)")


class StateIdentitySerializer(serializers.Serializer):
    lineage = serializers.CharField()
    serial = serializers.IntegerField(allow_null=True)


class StateVersionSerializer(serializers.Serializer):
    version_id = serializers.CharField()
    modified = serializers.DateTimeField()
    deleted = serializers.BooleanField()
    latest = serializers.BooleanField()
    lineage = serializers.CharField()
    serial = serializers.IntegerField(allow_null=True)
    recorded = serializers.BooleanField()


class StateReportSerializer(serializers.Serializer):
    recorded = StateIdentitySerializer(help_text="lineage and serial Slipway recorded after the last run")
    current = StateIdentitySerializer(allow_null=True, help_text="the state in the backend now; null: none")
    problem = serializers.CharField(help_text="why plans are refused (state missing, other lineage, older); empty: ok")
    error = serializers.CharField()
    versions = StateVersionSerializer(many=True)


class StateRestoreSerializer(serializers.Serializer):
    version_id = serializers.CharField(max_length=1024, help_text="an S3 version of the state (GET …/state/)")


class StateAcceptSerializer(serializers.Serializer):
    reason = serializers.CharField(min_length=10, max_length=500, help_text="why the current state is right (audited)")


class LockSerializer(serializers.Serializer):
    locked = serializers.BooleanField()
    lock = serializers.DictField(allow_null=True, help_text="Terraform's lock info: ID, Operation, Who, Created…")


class ForceUnlockResultSerializer(serializers.Serializer):
    released = serializers.CharField()
    output = serializers.CharField()
