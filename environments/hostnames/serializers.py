from rest_framework import serializers

from .models import ClusterDns, DnsSweep, HostnameRecord


class ClusterDnsSerializer(serializers.ModelSerializer):
    cluster = serializers.CharField(source="cluster.name", read_only=True)

    class Meta:
        model = ClusterDns
        fields = ["cluster", "zone_id", "zone_name", "hostname_pattern", "record_type", "target", "target_zone_id",
                  "ttl", "updated_at"]
        read_only_fields = fields


class ClusterDnsWriteSerializer(serializers.Serializer):
    zone = serializers.CharField(max_length=253, help_text="hosted zone id (Z…) or domain name")
    hostname_pattern = serializers.CharField(max_length=253, default="{environment}.{team}.{zone}")
    record_type = serializers.ChoiceField(choices=[ClusterDns.CNAME, ClusterDns.ALIAS], default=ClusterDns.CNAME)
    target = serializers.CharField(max_length=253, help_text="the cluster's ingress load-balancer hostname")
    target_zone_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    ttl = serializers.IntegerField(min_value=0, max_value=86400, default=60)


class HostnameRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = HostnameRecord
        fields = ["name", "type", "value", "alias", "ttl", "zone_id", "extra", "owned", "state", "change_id",
                  "synced_at"]
        read_only_fields = fields


class HostnameChangeSerializer(serializers.Serializer):
    hostname = serializers.CharField(max_length=253, required=False, allow_blank=True, default="",
                                     help_text="the new primary hostname; empty = recompute from the cluster's pattern")


class ExtraHostnamesSerializer(serializers.Serializer):
    names = serializers.ListField(child=serializers.CharField(max_length=253), allow_empty=True,
                                  help_text="extra hostnames Slipway writes in the cluster's zone (the whole list)")
    adopted = serializers.ListField(child=serializers.CharField(max_length=253), required=False, default=list,
                                    help_text="names managed elsewhere, routed but never written (Platform admins)")


class DnsSweepSerializer(serializers.ModelSerializer):
    job = serializers.UUIDField(source="job_id", read_only=True, allow_null=True)

    class Meta:
        model = DnsSweep
        fields = ["id", "job", "zone_id", "zone_name", "owner_id", "removal_enabled", "records_seen", "owned",
                  "foreign", "orphans", "change_ids", "created_at"]
        read_only_fields = fields
