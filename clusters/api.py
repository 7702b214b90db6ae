from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from portal.api.schema import ERROR_RESPONSES

from .models import Cluster
from .selectors import cluster_list
from .serializers import ClusterSerializer


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
