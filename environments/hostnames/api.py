"""REST API for hostnames: cluster DNS settings, an environment's names, and the orphan sweeper."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.generics import get_object_or_404  # a malformed id is a 404, not a ValueError
from rest_framework.response import Response
from rest_framework.views import APIView

from clusters.models import Cluster
from portal.accounts import authz
from portal.api.schema import ERROR_RESPONSES
from portal.audit.actor import Actor
from portal.jobs.serializers import JobSerializer

from ..selectors import environment_list
from . import services
from .selectors import cluster_dns_list, dns_sweep_list
from .serializers import (
    ClusterDnsSerializer,
    ClusterDnsWriteSerializer,
    DnsSweepSerializer,
    ExtraHostnamesSerializer,
    HostnameChangeSerializer,
    HostnameRecordSerializer,
)
from .services import dns_sweep_start


@extend_schema_view(
    list=extend_schema(summary="Hostname settings of every cluster that has them"),
    retrieve=extend_schema(summary="One cluster's hostname settings", responses={200: ClusterDnsSerializer,
                                                                                 **ERROR_RESPONSES}),
)
class ClusterDnsViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    authz_rule = staticmethod(authz.cluster_dns_can)
    authz_messages = {authz.CHANGE: "Only Platform admins can change a cluster's hostname settings."}
    serializer_class = ClusterDnsSerializer
    queryset = cluster_dns_list()
    lookup_field = "cluster__name"
    lookup_url_kwarg = "cluster"

    @extend_schema(summary="Set a cluster's hostname settings (Platform admins; the zone is looked up in Route 53)",
                   request=ClusterDnsWriteSerializer, responses={200: ClusterDnsSerializer, **ERROR_RESPONSES})
    def update(self, request, cluster=None):
        target = get_object_or_404(Cluster, name=cluster)
        data = ClusterDnsWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        dns = services.cluster_dns_set(actor=Actor.from_request(request), user=request.user, cluster=target,
                                       **data.validated_data)
        return Response(ClusterDnsSerializer(dns).data)


def _environment(request, pk: int):
    return get_object_or_404(environment_list(user=request.user, filters={"status": ""}), pk=pk)


class EnvironmentHostnamesView(APIView):
    authz_rule = staticmethod(authz.hostname_can)
    authz_messages = {authz.CHANGE: "You can change hostnames of your own teams' environments only."}

    def authz_object(self):
        return _environment(self.request, self.kwargs["pk"])

    @extend_schema(summary="An environment's DNS names in Route 53",
                   responses={200: HostnameRecordSerializer(many=True), **ERROR_RESPONSES})
    def get(self, request, pk: int):
        records = _environment(request, pk).hostname_records.all()
        return Response(HostnameRecordSerializer(records, many=True).data)

    @extend_schema(summary="Change the primary hostname (a rollout moves the record and the Ingress)",
                   request=HostnameChangeSerializer, responses={202: JobSerializer, **ERROR_RESPONSES})
    def post(self, request, pk: int):
        return self._roll_out(request, pk, HostnameChangeSerializer, services.environment_hostname_change)

    @extend_schema(summary="Set the extra hostnames (the whole list; a rollout writes them and the Ingress)",
                   request=ExtraHostnamesSerializer, responses={202: JobSerializer, **ERROR_RESPONSES})
    def put(self, request, pk: int):
        return self._roll_out(request, pk, ExtraHostnamesSerializer, services.environment_extra_hostnames_set)

    @staticmethod
    def _roll_out(request, pk: int, serializer_class, use_case) -> Response:
        data = serializer_class(data=request.data)
        data.is_valid(raise_exception=True)
        rollout = use_case(actor=Actor.from_request(request), user=request.user,
                           environment=_environment(request, pk), **data.validated_data)
        return Response(JobSerializer(rollout.job).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(summary="Orphan sweep reports, newest first (Platform admins, managers)"),
    retrieve=extend_schema(summary="One sweep report", responses={200: DnsSweepSerializer, **ERROR_RESPONSES}),
)
class DnsSweepViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    authz_rule = staticmethod(authz.operations_can)
    authz_messages = dict.fromkeys((authz.VIEW, authz.CREATE), "Only Platform admins can sweep DNS zones.")
    serializer_class = DnsSweepSerializer

    def get_queryset(self):
        return dns_sweep_list(user=self.request.user)

    @extend_schema(summary="Start a sweep of every hosted zone (Platform admins)", request=None,
                   responses={202: JobSerializer, **ERROR_RESPONSES})
    def create(self, request):
        job = dns_sweep_start(actor=Actor.from_request(request), user=request.user)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
