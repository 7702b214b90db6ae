from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError
from rest_framework.generics import get_object_or_404  # a malformed id is a 404, not a ValueError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from portal.accounts import authz
from portal.api.parsers import JSONParser
from portal.api.schema import ERROR_RESPONSES
from portal.audit.actor import Actor
from portal.jobs.serializers import JobSerializer
from portal.query_params import id_param

from . import documents, drift_checks, services
from .compare import environments_diff
from .diff import snapshot_diff
from .models import Environment
from .policies.api import request_created_response
from .policies.environment_requests import environment_request_create
from .policies.policy_checks import approval_needed
from .policies.serializers import EnvironmentRequestSerializer
from .selectors import clone_default_team, environment_list, new_environment_choices
from .serializers import (
    CloneSerializer,
    CompareRowSerializer,
    DiffRowSerializer,
    EnvironmentCreateSerializer,
    EnvironmentDestroySerializer,
    EnvironmentSerializer,
    ExtendSerializer,
    PromoteSerializer,
    RevisionSerializer,
    RollbackSerializer,
    UpdateVersionsSerializer,
)


def _job_response(job, code=status.HTTP_202_ACCEPTED) -> Response:
    return Response(JobSerializer(job).data, status=code)


class YAMLParser(BaseParser):
    """``Content-Type: application/yaml`` bodies (the apply endpoints), read by ``portal.safe_yaml``."""

    media_type = "application/yaml"

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return documents.parse_document(stream.read())
        except DjangoValidationError as exc:
            raise ParseError(" ".join(exc.messages)) from exc


class YAMLRenderer(BaseRenderer):
    media_type = "application/yaml"
    format = "yaml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return documents.to_yaml(data).encode("utf-8") if data is not None else b""


def truthy(value) -> bool:
    return str(value).lower() in ("1", "true", "yes", "on")


DocumentSchema = inline_serializer(name="EnvironmentDocument", fields={
    "apiVersion": serializers.CharField(default=documents.API_VERSION),
    "kind": serializers.ChoiceField(choices=documents.KINDS),
    "metadata": serializers.DictField(help_text="name, team, stage, cluster (Environment); name (Blueprint)"),
    "spec": serializers.DictField(help_text="blueprint {name, version}, versions {component: tag}, ttl_hours"),
})
ApplyRequestSchema = inline_serializer(name="ApplyDocumentRequest", fields={
    "document": serializers.CharField(help_text="the YAML document"),
    "confirm": serializers.BooleanField(default=False, help_text="apply (true) or only show the plan (false)"),
})
PlanSchema = inline_serializer(name="DocumentPlan", fields={
    "action": serializers.ChoiceField(choices=documents.PLAN_ACTIONS),
    "applied": serializers.BooleanField(),
    "name": serializers.CharField(), "cluster": serializers.CharField(), "team": serializers.CharField(),
    "stage": serializers.CharField(), "blueprint": serializers.CharField(),
    "versions": serializers.DictField(child=serializers.CharField()),
    "revision": serializers.IntegerField(allow_null=True, help_text="the live revision the plan compares with"),
    "changes": DiffRowSerializer(many=True),
    "environment": EnvironmentSerializer(allow_null=True),
    "job": JobSerializer(allow_null=True, help_text="the rollout started by an applied update or create"),
})


def _plan_data(plan: documents.Plan) -> dict:
    job = plan.rollout.job if plan.rollout else None
    if plan.applied and job is None and plan.environment is not None:
        job = getattr(plan.environment.rollouts.select_related("job").first(), "job", None)
    return {"action": plan.action, "applied": plan.applied, "name": plan.name, "cluster": plan.cluster.name,
            "team": plan.team.slug, "stage": plan.stage, "blueprint": str(plan.blueprint), "versions": plan.versions,
            "revision": plan.revision, "changes": DiffRowSerializer(plan.rows, many=True).data,
            "environment": EnvironmentSerializer(plan.environment).data if plan.environment else None,
            "job": JobSerializer(job).data if job else None}


@extend_schema_view(
    list=extend_schema(summary="List environments you may see",
                       parameters=[OpenApiParameter(name, OpenApiTypes.STR, description=text) for name, text in (
                           ("status", "a status, 'drifted', or 'any' (destroyed ones too); default: the live ones"),
                           ("team", "a team's slug"), ("stage", "dev, qa, staging or prod"),
                           ("q", "part of the name"), ("owner", "the owner's username"),
                           ("created_after", "created at or after (ISO 8601 time or date)"),
                           ("created_before", "created before (ISO 8601 time or date)"),
                           ("destroyed_after", "destroyed at or after (its environment.destroyed audit event)"),
                           ("destroyed_before", "destroyed before (its environment.destroyed audit event)"),
                           ("idle_before", "non-production, with no activity since (ISO 8601 time or date)"))],
                       responses={200: EnvironmentSerializer(many=True), **ERROR_RESPONSES}),
    retrieve=extend_schema(summary="One environment", responses={200: EnvironmentSerializer, **ERROR_RESPONSES}),
    create=extend_schema(summary="Create an environment (starts its first rollout)",
                         request=EnvironmentCreateSerializer,
                         responses={201: EnvironmentSerializer, 202: OpenApiResponse(
                             EnvironmentRequestSerializer, description="The stage needs a Platform admin's approval: "
                             "a request was made instead (see /api/v1/environment-requests/)"), **ERROR_RESPONSES}),
)
class EnvironmentViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    authz_rule = staticmethod(authz.environment_can)
    # Promote's preview is part of changing the target; clone reads its source (the use case judges the
    # target team); a document applies into the team it names (judged by the use case).
    # Planning a document only reads (Managers may preview); applying it is judged by the use case.
    authz_actions = {"promote": (authz.environment_can, authz.CHANGE), "clone": (authz.environment_can, authz.VIEW),
                     "apply_document": (authz.environment_can, authz.VIEW)}
    authz_messages = {authz.CHANGE: services.CHANGE_REFUSED,
                      authz.CREATE: "Only QA, Developers and Platform admins create environments."}
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
        values = new_environment_choices(user=request.user).fill(data.validated_data)
        if approval_needed(user=request.user, stage=values["stage"]):  # policies (issue 17)
            return request_created_response(environment_request_create(actor=self._actor(), user=request.user,
                                                                       **values))
        environment = services.environment_create(actor=self._actor(), user=request.user, **values)
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

    @extend_schema(summary="Destroy the environment (deletes its namespace)", request=EnvironmentDestroySerializer,
                   responses={202: JobSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"], url_path="destroy")
    def destroy_environment(self, request, pk=None):
        data = EnvironmentDestroySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = services.environment_destroy(actor=self._actor(), user=request.user, environment=self.get_object(),
                                           confirm_name=data.validated_data.get("confirm_name"))
        return _job_response(job)

    @extend_schema(summary="Retry a failed environment: re-run its current revision (or a destroy that got stuck)",
                   description="400 when the environment is not failed or a job is already running for it.",
                   request=None, responses={202: JobSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        job = services.environment_retry(actor=self._actor(), user=request.user, environment=self.get_object())
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
        source, values = self.get_object(), dict(data.validated_data)
        if values.get("team") is None:  # as the form: the source's team when the user may use it
            values["team"] = clone_default_team(user=request.user, source=source)
            if values["team"] is None:
                raise DjangoValidationError({"team": ["Choose a team: you may not use the source's team, and you "
                                                      "are in several or none."]})
        environment = services.environment_clone(actor=self._actor(), user=request.user, source=source, **values)
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
        other_id = id_param(request.query_params, "with", what="the other environment's id")
        if other_id is None:
            raise serializers.ValidationError({"with": ["Give the other environment's id as ?with=N."]})
        other = get_object_or_404(environment_list(user=request.user), pk=other_id)
        return Response(CompareRowSerializer(environments_diff(self.get_object(), other), many=True).data)

    @extend_schema(summary="Check drift between the live cluster and the current revision", request=None,
                   responses={200: EnvironmentSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"], url_path="drift-check")
    def drift_check(self, request, pk=None):
        environment = self.get_object()
        drift_checks.environment_drift_check(actor=self._actor(), user=request.user, environment=environment)
        environment.refresh_from_db()
        return Response(EnvironmentSerializer(environment).data)

    @extend_schema(summary="Reconcile: re-apply the current revision over drift", request=None,
                   responses={200: EnvironmentSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def reconcile(self, request, pk=None):
        environment = self.get_object()
        drift_checks.environment_reconcile(actor=self._actor(), user=request.user, environment=environment)
        environment.refresh_from_db()
        return Response(EnvironmentSerializer(environment).data)

    @extend_schema(summary="This environment (or, with ?kind=blueprint, its blueprint) as a YAML document",
                   parameters=[OpenApiParameter("kind", OpenApiTypes.STR, enum=["environment", "blueprint"],
                                                description="what to export (default: environment)")],
                   responses={200: DocumentSchema, **ERROR_RESPONSES})
    @action(detail=True, methods=["get"], pagination_class=None, renderer_classes=[YAMLRenderer, JSONRenderer])
    def document(self, request, pk=None):
        environment = self.get_object()
        if request.query_params.get("kind") == "blueprint":
            return Response(documents.blueprint_document(environment.blueprint))
        return Response(documents.environment_document(environment))

    @extend_schema(
        summary="Apply an Environment document: the plan (diff) unless confirmed, then create or update",
        description="Send the YAML itself (`Content-Type: application/yaml`, confirm with `?confirm=true`) or JSON "
                    "`{\"document\": \"<yaml>\", \"confirm\": true}`. Unconfirmed: 200 with the plan and nothing "
                    "changed. Confirmed: 201 when the environment was created, 202 when a new revision is rolling "
                    "out, 200 when the document matches the live revision.",
        parameters=[OpenApiParameter("confirm", OpenApiTypes.BOOL, description="apply the plan (default false)")],
        request={"application/yaml": DocumentSchema, "application/json": ApplyRequestSchema},
        responses={200: PlanSchema, 201: PlanSchema, 202: PlanSchema, **ERROR_RESPONSES})
    @action(detail=False, methods=["post"], url_path="apply", parser_classes=[YAMLParser, JSONParser])
    def apply_document(self, request):
        body = request.data
        confirm = truthy(request.query_params.get("confirm", "false"))
        if isinstance(body, dict) and "document" in body and "kind" not in body:
            confirm = confirm or truthy(body.get("confirm", False))
            body = body["document"]
            if not isinstance(body, str | dict):
                raise serializers.ValidationError({"document": ["Give the document as YAML text."]})
        plan = documents.apply_document(body, actor=self._actor(), user=request.user, confirm=confirm)
        code = status.HTTP_200_OK
        if plan.applied:
            code = status.HTTP_201_CREATED if plan.action == documents.CREATE else status.HTTP_202_ACCEPTED
        return Response(_plan_data(plan), status=code)

    @extend_schema(summary="Blue/green: point the Services at the other colour (switch or switch back)",
                   request=None, responses={200: EnvironmentSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def switch(self, request, pk=None):
        environment = services.environment_switch_colour(actor=self._actor(), user=request.user,
                                                         environment=self.get_object())
        return Response(EnvironmentSerializer(environment).data)

    @extend_schema(summary="Blue/green: delete the standby colour's workloads", request=None,
                   responses={200: EnvironmentSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def retire(self, request, pk=None):
        environment = self.get_object()
        services.environment_retire_colour(actor=self._actor(), user=request.user, environment=environment)
        return Response(EnvironmentSerializer(environment).data)
