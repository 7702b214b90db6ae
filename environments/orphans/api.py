"""The orphan API (``/api/v1/orphans/…``), the twin of the pages: the filtered list, its CSV and totals,
"sweep now" and removal (Platform admins; Managers read)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from portal.accounts import authz
from portal.api.schema import ERROR_RESPONSES
from portal.audit.actor import Actor
from portal.jobs.serializers import JobSerializer

from .filters import OrphanFilter
from .selectors import REMOVABLE, orphans_monthly_total, orphans_visible
from .serializers import OrphanRemovalSerializer, OrphanSerializer, OrphanTotalSerializer
from .services import orphans_remove_start, orphans_sweep_start
from .tables import ORPHANS
from .views import CHANGE_REFUSED, VIEW_REFUSED

CSV_RESPONSE = {(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR), **ERROR_RESPONSES}


class OrphanViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    authz_rule = staticmethod(authz.orphans_can)
    # The collection's POST actions change installation-wide things: CHANGE, not CREATE.
    authz_actions = {"sweep": (authz.orphans_can, authz.CHANGE, CHANGE_REFUSED),
                     "remove": (authz.orphans_can, authz.CHANGE, CHANGE_REFUSED)}
    authz_messages = {authz.VIEW: VIEW_REFUSED}
    serializer_class = OrphanSerializer
    filterset_class = OrphanFilter

    def get_queryset(self):
        return orphans_visible(self.request.user)

    @extend_schema(summary="Orphans found by the sweeper, open ones first (Platform admins, Managers)")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="Export the filtered orphans as CSV", filters=True, responses=CSV_RESPONSE)
    @action(detail=False, methods=["get"], url_path="export")
    def export(self, request):
        return ORPHANS.download(self.filter_queryset(self.get_queryset()))

    @extend_schema(summary="Monthly cost of the filtered open orphans, per currency", filters=True,
                   responses={200: OrphanTotalSerializer(many=True), **ERROR_RESPONSES})
    @action(detail=False, methods=["get"], url_path="totals")
    def totals(self, request):
        rows = self.filter_queryset(self.get_queryset()).filter(state__in=REMOVABLE)
        return Response(OrphanTotalSerializer(orphans_monthly_total(rows), many=True).data)

    @extend_schema(summary="Start a sweep now (Platform admins); follow the job", request=None,
                   responses={202: JobSerializer, **ERROR_RESPONSES})
    @action(detail=False, methods=["post"], url_path="sweep")
    def sweep(self, request):
        job = orphans_sweep_start(actor=Actor.from_request(request), user=request.user)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(summary="Remove the chosen orphans (Platform admins); each is re-checked just before deletion",
                   request=OrphanRemovalSerializer, responses={202: JobSerializer, **ERROR_RESPONSES})
    @action(detail=False, methods=["post"], url_path="remove")
    def remove(self, request):
        body = OrphanRemovalSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        job = orphans_remove_start(actor=Actor.from_request(request), user=request.user,
                                   orphan_ids=body.validated_data["orphans"])
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
