from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from portal.accounts import rules
from portal.api.schema import ERROR_RESPONSES
from portal.audit.actor import Actor
from portal.jobs.serializers import JobSerializer

from .models import Cluster
from .selectors import cluster_list
from .serializers import ClusterRegisterSerializer, ClusterSerializer
from .services import cluster_addons_start, cluster_check_health, cluster_register_existing


def _require_admin(request, what: str) -> None:
    if not rules.is_platform_admin(request.user):
        raise PermissionDenied(f"Only Platform admins {what}.")


@extend_schema_view(
    list=extend_schema(summary="List clusters", responses={200: ClusterSerializer(many=True), **ERROR_RESPONSES}),
    retrieve=extend_schema(summary="One cluster", responses={200: ClusterSerializer, **ERROR_RESPONSES}),
)
class ClusterViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ClusterSerializer
    filterset_fields = ["kind", "status", "is_default"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Cluster.objects.none()
        return cluster_list(user=self.request.user)

    @extend_schema(summary="Register an existing cluster (verified against its API first)",
                   description="Refused with 400 when the credentials cannot be used; `fields.missing_permissions` "
                               "then lists each permission the credentials lack (verb group/resource).",
                   request=ClusterRegisterSerializer, responses={201: ClusterSerializer, **ERROR_RESPONSES})
    @action(detail=False, methods=["post"])
    def register(self, request):
        _require_admin(request, "register clusters")
        serializer = ClusterRegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cluster = cluster_register_existing(actor=Actor.from_request(request), **serializer.validated_data)
        return Response(ClusterSerializer(cluster).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Check a cluster's health now", request=None,
                   responses={200: ClusterSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"], url_path="health-check")
    def health_check(self, request, pk=None):
        _require_admin(request, "check cluster health on demand")
        cluster = cluster_check_health(actor=Actor.from_request(request), cluster=self.get_object())
        return Response(ClusterSerializer(cluster).data)

    @extend_schema(summary="Install the cluster add-ons (a job; follow it at /api/v1/jobs/{id}/)", request=None,
                   responses={202: JobSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def addons(self, request, pk=None):
        job = cluster_addons_start(actor=Actor.from_request(request), user=request.user, cluster=self.get_object())
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
