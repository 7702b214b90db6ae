from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from portal.api.schema import ERROR_RESPONSES
from portal.audit.actor import Actor
from portal.jobs.serializers import JobSerializer

from . import drift, services
from .compare import environments_diff
from .diff import snapshot_diff
from .models import Environment
from .selectors import environment_list
from .serializers import (
    CloneSerializer,
    CompareRowSerializer,
    DiffRowSerializer,
    EnvironmentCreateSerializer,
    EnvironmentSerializer,
    ExtendSerializer,
    PromoteSerializer,
    RevisionSerializer,
    RollbackSerializer,
    UpdateVersionsSerializer,
)


def _job_response(job, code=status.HTTP_202_ACCEPTED) -> Response:
    return Response(JobSerializer(job).data, status=code)


@extend_schema_view(
    list=extend_schema(summary="List environments you may see",
                       responses={200: EnvironmentSerializer(many=True), **ERROR_RESPONSES}),
    retrieve=extend_schema(summary="One environment", responses={200: EnvironmentSerializer, **ERROR_RESPONSES}),
    create=extend_schema(summary="Create an environment (starts its first rollout)",
                         request=EnvironmentCreateSerializer,
                         responses={201: EnvironmentSerializer, **ERROR_RESPONSES}),
)
class EnvironmentViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = EnvironmentSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Environment.objects.none()
        return environment_list(user=self.request.user, filters=self.request.query_params)

    def _actor(self) -> Actor:
        return Actor.from_request(self.request)

    def create(self, request, *args, **kwargs):
        data = EnvironmentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        environment = services.environment_create(actor=self._actor(), user=request.user, **data.validated_data)
        return Response(EnvironmentSerializer(environment).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Update component versions (new revision + rollout)", request=UpdateVersionsSerializer,
                   responses={202: JobSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def versions(self, request, pk=None):
        data = UpdateVersionsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rollout = services.environment_update_versions(actor=self._actor(), user=request.user,
                                                       environment=self.get_object(), **data.validated_data)
        return _job_response(rollout.job)

    @extend_schema(summary="Roll back to a revision (a new revision equal to it)", request=RollbackSerializer,
                   responses={202: JobSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def rollback(self, request, pk=None):
        data = RollbackSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rollout = services.environment_rollback(actor=self._actor(), user=request.user,
                                                environment=self.get_object(), number=data.validated_data["revision"])
        return _job_response(rollout.job)

    @extend_schema(summary="Destroy the environment (deletes its namespace)", request=None,
                   responses={202: JobSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"], url_path="destroy")
    def destroy_environment(self, request, pk=None):
        job = services.environment_destroy(actor=self._actor(), user=request.user, environment=self.get_object())
        return _job_response(job)

    @extend_schema(summary="Extend the expiry", request=ExtendSerializer,
                   responses={200: EnvironmentSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def extend(self, request, pk=None):
        data = ExtendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        environment = services.environment_extend(actor=self._actor(), user=request.user,
                                                  environment=self.get_object(), hours=data.validated_data["hours"])
        return Response(EnvironmentSerializer(environment).data)

    @extend_schema(summary="Revision history, newest first", responses={200: RevisionSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None)
    def revisions(self, request, pk=None):
        revisions = self.get_object().revisions.select_related("created_by")
        return Response(RevisionSerializer(revisions, many=True).data)

    @extend_schema(summary="Differences between two revisions",
                   parameters=[OpenApiParameter("from", OpenApiTypes.INT, required=True),
                               OpenApiParameter("to", OpenApiTypes.INT, required=True)],
                   responses={200: DiffRowSerializer(many=True), **ERROR_RESPONSES})
    @action(detail=True, methods=["get"], pagination_class=None)
    def diff(self, request, pk=None):
        environment = self.get_object()
        try:
            numbers = int(request.query_params["from"]), int(request.query_params["to"])
        except (KeyError, ValueError) as exc:
            raise serializers.ValidationError({"from": ["Give revision numbers as ?from=N&to=M."]}) from exc
        before, after = (get_object_or_404(environment.revisions, number=n) for n in numbers)
        return Response(DiffRowSerializer(snapshot_diff(before.snapshot, after.snapshot), many=True).data)

    @extend_schema(summary="Clone into a new environment with the same versions", request=CloneSerializer,
                   responses={201: EnvironmentSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def clone(self, request, pk=None):
        data = CloneSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        environment = services.environment_clone(actor=self._actor(), user=request.user, source=self.get_object(),
                                                 **data.validated_data)
        return Response(EnvironmentSerializer(environment).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], summary="Preview promoting another environment's versions onto this one",
                   parameters=[OpenApiParameter("source", OpenApiTypes.INT, required=True)],
                   responses={200: DiffRowSerializer(many=True), **ERROR_RESPONSES})
    @extend_schema(methods=["POST"], summary="Promote another environment's versions onto this one",
                   request=PromoteSerializer, responses={202: JobSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["get", "post"])
    def promote(self, request, pk=None):
        target = self.get_object()
        data = PromoteSerializer(data=request.data if request.method == "POST" else request.query_params)
        data.is_valid(raise_exception=True)
        source = get_object_or_404(environment_list(user=request.user), pk=data.validated_data["source"].pk)
        if request.method == "GET":
            return Response(DiffRowSerializer(services.promote_preview(source=source, target=target), many=True).data)
        rollout = services.environment_promote(actor=self._actor(), user=request.user, source=source, target=target)
        return _job_response(rollout.job)

    @extend_schema(summary="Diff this environment's rendered manifests with another's (identical across stages)",
                   parameters=[OpenApiParameter("with", OpenApiTypes.INT, required=True)],
                   responses={200: CompareRowSerializer(many=True), **ERROR_RESPONSES})
    @action(detail=True, methods=["get"], pagination_class=None)
    def compare(self, request, pk=None):
        other_id = request.query_params.get("with", "")
        if not other_id.isdigit():
            raise serializers.ValidationError({"with": ["Give the other environment's id as ?with=N."]})
        other = get_object_or_404(environment_list(user=request.user), pk=int(other_id))
        return Response(CompareRowSerializer(environments_diff(self.get_object(), other), many=True).data)

    @extend_schema(summary="Check drift between the live cluster and the current revision", request=None,
                   responses={200: EnvironmentSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"], url_path="drift-check")
    def drift_check(self, request, pk=None):
        environment = self.get_object()
        drift.environment_drift_check(actor=self._actor(), environment=environment)
        environment.refresh_from_db()
        return Response(EnvironmentSerializer(environment).data)

    @extend_schema(summary="Reconcile: re-apply the current revision over drift", request=None,
                   responses={200: EnvironmentSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def reconcile(self, request, pk=None):
        environment = self.get_object()
        drift.environment_reconcile(actor=self._actor(), user=request.user, environment=environment)
        environment.refresh_from_db()
        return Response(EnvironmentSerializer(environment).data)
