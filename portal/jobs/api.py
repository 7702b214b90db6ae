from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404  # a malformed id is a 404, not a ValueError
from rest_framework.response import Response

from portal.accounts import authz
from portal.api.schema import ERROR_RESPONSES
from portal.audit.actor import Actor

from .models import Job
from .selectors import job_events_after, job_list
from .serializers import JobEventSerializer, JobSerializer
from .services import selfcheck_start


@extend_schema_view(
    list=extend_schema(summary="List jobs you may see", responses={200: JobSerializer(many=True), **ERROR_RESPONSES}),
    retrieve=extend_schema(summary="One job", responses={200: JobSerializer, **ERROR_RESPONSES}),
)
class JobViewSet(viewsets.ReadOnlyModelViewSet):
    authz_rule = staticmethod(authz.job_can)
    authz_actions = {"selfcheck": (authz.operations_can, authz.CHANGE, "Only Platform admins can run the self-check.")}
    serializer_class = JobSerializer
    filterset_fields = ["kind", "state", "target_type", "target_id"]
    ordering_fields = ["created_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no real user
            return Job.objects.none()
        return job_list(user=self.request.user)

    @extend_schema(summary="A job's stored output after a sequence number (the backlog before the websocket)",
                   parameters=[OpenApiParameter("after", OpenApiTypes.INT, description="last seq already seen")],
                   responses={200: JobEventSerializer(many=True), **ERROR_RESPONSES})
    @action(detail=True, methods=["get"], pagination_class=None)
    def events(self, request, pk=None):
        job = get_object_or_404(self.get_queryset(), pk=pk)
        try:
            after = max(0, int(request.query_params.get("after", 0)))
        except ValueError:
            after = 0
        return Response(JobEventSerializer(job_events_after(job, after), many=True).data)

    @extend_schema(summary="Start a self-check job (Platform admins)", request=None,
                   responses={201: JobSerializer, **ERROR_RESPONSES})
    @action(detail=False, methods=["post"])
    def selfcheck(self, request):
        job = selfcheck_start(actor=Actor.from_request(request), user=request.user)
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)
