from rest_framework import serializers

from .models import Cluster


class ClusterSerializer(serializers.ModelSerializer):
    """Never includes the kubeconfig: credentials stay inside Slipway."""

    class Meta:
        model = Cluster
        fields = ["id", "name", "kind", "api_server", "is_default", "status", "status_message", "server_version",
                  "node_count", "nodes_ready", "allocatable_cpu_millicores", "allocatable_memory_bytes",
                  "last_checked_at", "region", "node_groups", "addons", "created_at", "updated_at"]
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
