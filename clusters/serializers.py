from rest_framework import serializers

from .models import Cluster


class ClusterSerializer(serializers.ModelSerializer):
    """Never includes the kubeconfig: credentials stay inside Slipway."""

    class Meta:
        model = Cluster
        fields = ["id", "name", "kind", "api_server", "is_default", "status", "status_message", "server_version",
                  "node_count", "last_checked_at", "created_at", "updated_at"]
        read_only_fields = fields
