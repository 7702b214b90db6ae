from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action

from portal.accounts import authz
from portal.api.schema import ERROR_RESPONSES

from .filters import AuditEventFilter
from .models import AuditEvent
from .selectors import audit_event_list
from .serializers import AuditEventSerializer
from .tables import AUDIT_EVENTS


@extend_schema_view(
    list=extend_schema(summary="List audit events (Managers, Platform admins)",
                       responses={200: AuditEventSerializer(many=True), **ERROR_RESPONSES}),
    retrieve=extend_schema(summary="One audit event", responses={200: AuditEventSerializer, **ERROR_RESPONSES}),
)
class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    authz_rule = staticmethod(authz.audit_can)
    """The append-only audit trail. There is deliberately no write endpoint."""

    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    ordering_fields = ["timestamp", "id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no real user
            return AuditEvent.objects.none()
        queryset, _ = audit_event_list(user=self.request.user)
        return queryset

    @extend_schema(summary="Export the filtered audit events as CSV", filters=True,
                   responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR), **ERROR_RESPONSES})
    @action(detail=False, methods=["get"], url_path="export")
    def export(self, request):
        return AUDIT_EVENTS.download(self.filter_queryset(self.get_queryset()))
