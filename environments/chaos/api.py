"""The chaos API (``/api/v1/…``): every action of the chaos pages has its twin here.

An environment's settings, experiments, kill switch, statistics, badge, revision comparison and YAML
document under ``environments/<id>/chaos/``; experiments and runs by their own id under ``chaos/``; the
global kill switch at ``chaos/kill-switch/``. Writes go through ``services`` and ``runs`` (audited).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404  # a malformed id is a 404, not a ValueError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.accounts import authz
from portal.api.parsers import JSONParser
from portal.api.schema import ERROR_RESPONSES
from portal.audit.actor import Actor
from portal.query_params import InvalidParameter, id_param

from ..api import YAMLRenderer
from ..models import Environment
from ..selectors import environment_list
from . import experiment_document, runs, services
from .filters import ChaosExperimentFilter, ChaosRunFilter
from .models import ChaosKillSwitch
from .selectors import (
    chaos_badge,
    chaos_experiments_visible,
    chaos_revision_comparison,
    chaos_runs_visible,
    chaos_settings_of,
    chaos_stats,
)
from .serializers import (
    ChaosBadgeSerializer,
    ChaosExperimentSerializer,
    ChaosExperimentWriteSerializer,
    ChaosRunDetailSerializer,
    ChaosRunSerializer,
    ChaosSettingsSerializer,
    ChaosSettingsWriteSerializer,
    ChaosStatsSerializer,
    DocumentAppliedSerializer,
    GlobalKillSwitchSerializer,
    KillSwitchReasonSerializer,
    KillSwitchSerializer,
    PauseSerializer,
    RevisionComparisonSerializer,
)
from .tables import CHAOS_RUNS
from .views import CHANGE_REFUSED

CSV_RESPONSE = {(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR), **ERROR_RESPONSES}
ENGAGE_REFUSED = "Platform admins and Managers engage the global kill switch."
RELEASE_REFUSED = "Only Platform admins release the global kill switch."


def chaos_rule(user: Any, action_: str, obj: Any) -> bool:
    """``authz.chaos_can`` of the environment an experiment or run belongs to (or of the environment itself)."""
    return authz.chaos_can(user, action_, getattr(obj, "environment", obj))


def global_rule(user: Any, action_: str, obj: Any = None) -> bool:
    return authz.chaos_global_can(user, action_)


class DocumentTextParser(BaseParser):
    """``application/yaml`` bodies kept as text: ``experiment_document`` parses them (bounded, by
    ``portal.safe_yaml``) and needs the text to name the line of a wrong field."""

    media_type = "application/yaml"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        return stream.read() if stream is not None else b""


def _environment(request, pk: int) -> Environment:
    return get_object_or_404(environment_list(user=request.user, filters={"status": ""}), pk=pk)


def _validated(serializer_class: type, request, **options: Any) -> dict:
    """The request body checked by ``serializer_class``: its validated data, or a 400 naming each field."""
    data = serializer_class(data=request.data, **options)
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)


class _EnvironmentChaosView(APIView):
    """An environment's chaos endpoint: seen like the environment, changed by whoever may change it."""

    authz_rule = staticmethod(chaos_rule)
    authz_messages = {authz.CHANGE: CHANGE_REFUSED}

    def authz_object(self) -> Environment:
        if not hasattr(self, "_environment_obj"):
            self._environment_obj = _environment(self.request, self.kwargs["pk"])
        return self._environment_obj

    def actor(self) -> Actor:
        return Actor.from_request(self.request)


class EnvironmentChaosSettingsView(_EnvironmentChaosView):
    @extend_schema(summary="An environment's chaos opt-in, limits and kill switch state",
                   responses={200: ChaosSettingsSerializer, **ERROR_RESPONSES})
    def get(self, request, pk: int):
        return Response(ChaosSettingsSerializer(chaos_settings_of(self.authz_object())).data)

    @extend_schema(summary="Opt in or out, change the SLO, availability target and badge runs (production: a "
                           "Platform admin with an approval reason)",
                   request=ChaosSettingsWriteSerializer, responses={200: ChaosSettingsSerializer, **ERROR_RESPONSES})
    def patch(self, request, pk: int):
        data = _validated(ChaosSettingsWriteSerializer, request)
        saved = services.chaos_settings_update(actor=self.actor(), user=request.user, environment=self.authz_object(),
                                               **data)
        return Response(ChaosSettingsSerializer(saved).data)


class EnvironmentChaosKillSwitchView(_EnvironmentChaosView):
    @extend_schema(summary="Engage (stop every running experiment of the environment and undo its faults now) or "
                           "release the environment's kill switch",
                   request=KillSwitchSerializer, responses={200: ChaosSettingsSerializer, **ERROR_RESPONSES})
    def post(self, request, pk: int):
        data = _validated(KillSwitchSerializer, request)
        saved = runs.chaos_kill_switch_environment(actor=self.actor(), user=request.user,
                                                   environment=self.authz_object(),
                                                   engage=data["engage"])
        return Response(ChaosSettingsSerializer(saved).data)


class EnvironmentChaosExperimentsView(_EnvironmentChaosView):
    @extend_schema(summary="An environment's experiments",
                   responses={200: ChaosExperimentSerializer(many=True), **ERROR_RESPONSES})
    def get(self, request, pk: int):
        return Response(ChaosExperimentSerializer(self.authz_object().chaos_experiments.all(), many=True).data)

    @extend_schema(summary="Create an experiment", request=ChaosExperimentWriteSerializer,
                   responses={201: ChaosExperimentSerializer, **ERROR_RESPONSES})
    def post(self, request, pk: int):
        data = _validated(ChaosExperimentWriteSerializer, request)
        experiment = services.chaos_experiment_create(actor=self.actor(), user=request.user,
                                                      environment=self.authz_object(), **data)
        return Response(ChaosExperimentSerializer(experiment).data, status=status.HTTP_201_CREATED)


class EnvironmentChaosStatsView(_EnvironmentChaosView):
    @extend_schema(summary="Recovery p50/p95/max, availability and runs outside the SLO (overall and per fault)",
                   parameters=[OpenApiParameter("revision", OpenApiTypes.INT, description="only this revision's runs"),
                               OpenApiParameter("experiment", OpenApiTypes.INT,
                                                description="only this experiment's runs (its id)")],
                   responses={200: ChaosStatsSerializer, **ERROR_RESPONSES})
    def get(self, request, pk: int):
        measured = chaos_runs_visible(request.user).filter(environment=self.authz_object())
        revision = id_param(request.query_params, "revision", what="a revision number")
        if revision:
            measured = measured.filter(revision_number=revision)
        experiment = id_param(request.query_params, "experiment", what="an experiment id")
        if experiment:
            measured = measured.filter(experiment_id=experiment)
        return Response(ChaosStatsSerializer(chaos_stats(measured)).data)


class EnvironmentChaosBadgeView(_EnvironmentChaosView):
    @extend_schema(summary="The chaos-ready badge and the revision it was earned on",
                   responses={200: ChaosBadgeSerializer, **ERROR_RESPONSES})
    def get(self, request, pk: int):
        found = chaos_badge(self.authz_object())
        keys = ("revision_number", "runs", "p95_seconds", "slo_seconds", "availability_target")
        return Response({"ready": found is not None, **{k: getattr(found, k, None) for k in keys}})


class EnvironmentChaosComparisonView(_EnvironmentChaosView):
    @extend_schema(summary="Compare two revisions' recovery (\"r12 recovers in 4 s p95, r13 in 19 s\")",
                   parameters=[OpenApiParameter("a", OpenApiTypes.INT, required=True),
                               OpenApiParameter("b", OpenApiTypes.INT, required=True)],
                   responses={200: RevisionComparisonSerializer, **ERROR_RESPONSES})
    def get(self, request, pk: int):
        a = id_param(request.query_params, "a", what="a revision number")
        b = id_param(request.query_params, "b", what="a revision number")
        if a is None or b is None:
            raise InvalidParameter("a" if a is None else "b", "Give two revision numbers, e.g. ?a=12&b=13.")
        return Response(RevisionComparisonSerializer(chaos_revision_comparison(self.authz_object(), a, b)).data)


class EnvironmentChaosDocumentView(_EnvironmentChaosView):
    renderer_classes = [YAMLRenderer, JSONRenderer]
    parser_classes = [DocumentTextParser, JSONParser]

    @extend_schema(summary="The environment's chaos settings and experiments as one YAML document",
                   responses={(200, "application/yaml"): OpenApiResponse(OpenApiTypes.OBJECT), **ERROR_RESPONSES})
    def get(self, request, pk: int):
        return Response(experiment_document.chaos_document(self.authz_object()))

    @extend_schema(summary="Apply a chaos document: create/update the experiments it lists, delete the others, "
                           "change the settings (all or nothing; errors name the field and its line)",
                   description="Send the YAML with `Content-Type: application/yaml`, or JSON `{\"document\": "
                               "\"<yaml>\"}`.",
                   request={"application/yaml": OpenApiTypes.OBJECT, "application/json": OpenApiTypes.OBJECT},
                   responses={200: DocumentAppliedSerializer, **ERROR_RESPONSES})
    def put(self, request, pk: int):
        body = request.data
        if isinstance(body, dict) and isinstance(body.get("document"), str) and "kind" not in body:
            body = body["document"]
        applied = experiment_document.apply(body, environment=self.authz_object(), actor=self.actor(),
                                            user=request.user)
        request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
        return Response(DocumentAppliedSerializer(applied).data)


@extend_schema_view(
    list=extend_schema(summary="Experiments of the environments you may see",
                       responses={200: ChaosExperimentSerializer(many=True), **ERROR_RESPONSES}),
    retrieve=extend_schema(summary="One experiment", responses={200: ChaosExperimentSerializer, **ERROR_RESPONSES}),
    partial_update=extend_schema(summary="Change an experiment", request=ChaosExperimentWriteSerializer,
                                 responses={200: ChaosExperimentSerializer, **ERROR_RESPONSES}),
    destroy=extend_schema(summary="Delete an experiment", responses={204: None, **ERROR_RESPONSES}),
)
class ChaosExperimentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    authz_rule = staticmethod(chaos_rule)
    authz_messages = {authz.CHANGE: CHANGE_REFUSED}
    serializer_class = ChaosExperimentSerializer
    filterset_class = ChaosExperimentFilter

    def get_queryset(self):
        return chaos_experiments_visible(self.request.user)

    def partial_update(self, request, pk=None):
        experiment = self.get_object()
        data = _validated(ChaosExperimentWriteSerializer, request, partial=True)
        saved = services.chaos_experiment_update(actor=Actor.from_request(request), user=request.user,
                                                 experiment=experiment, **data)
        return Response(ChaosExperimentSerializer(saved).data)

    def destroy(self, request, pk=None):
        services.chaos_experiment_delete(actor=Actor.from_request(request), user=request.user,
                                         experiment=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Pause (or resume) the experiment's schedule", request=PauseSerializer,
                   responses={200: ChaosExperimentSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        data = _validated(PauseSerializer, request)
        saved = services.chaos_experiment_pause(actor=Actor.from_request(request), user=request.user,
                                                experiment=self.get_object(), paused=data["paused"])
        return Response(ChaosExperimentSerializer(saved).data)

    @extend_schema(summary="Run the experiment now (one fault; follow the run's job for its live timeline)",
                   request=None, responses={202: ChaosRunSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def run(self, request, pk=None):
        started = runs.chaos_run_start(actor=Actor.from_request(request), user=request.user,
                                       experiment=self.get_object(), trigger="manual")
        return Response(ChaosRunSerializer(started).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(summary="Chaos runs of the environments you may see, newest first",
                       responses={200: ChaosRunSerializer(many=True), **ERROR_RESPONSES}),
    retrieve=extend_schema(summary="One run with its timeline and unavailability",
                           responses={200: ChaosRunDetailSerializer, **ERROR_RESPONSES}),
)
class ChaosRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    authz_rule = staticmethod(chaos_rule)
    authz_messages = {authz.CHANGE: CHANGE_REFUSED}
    filterset_class = ChaosRunFilter

    def get_queryset(self):
        return chaos_runs_visible(self.request.user)

    def get_serializer_class(self):
        return ChaosRunDetailSerializer if self.action == "retrieve" else ChaosRunSerializer

    @extend_schema(summary="Export the filtered runs as CSV", filters=True, responses=CSV_RESPONSE)
    @action(detail=False, methods=["get"], url_path="export")
    def export(self, request):
        return CHAOS_RUNS.download(self.filter_queryset(self.get_queryset()))

    @extend_schema(summary="Stop the run now and undo its faults", request=None,
                   responses={200: ChaosRunDetailSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        stopped = runs.chaos_run_stop(actor=Actor.from_request(request), user=request.user, run=self.get_object())
        return Response(ChaosRunDetailSerializer(stopped).data)


def _global_switch_data() -> dict:
    return GlobalKillSwitchSerializer(ChaosKillSwitch.objects.filter(pk=1).first() or ChaosKillSwitch()).data


class GlobalKillSwitchView(APIView):
    authz_rule = staticmethod(global_rule)

    @extend_schema(summary="The global chaos kill switch", responses={200: GlobalKillSwitchSerializer,
                                                                       **ERROR_RESPONSES})
    def get(self, request):
        return Response(_global_switch_data())


class GlobalKillSwitchEngageView(APIView):
    authz_rule = staticmethod(global_rule)
    authz_actions = {"post": (global_rule, authz.ENGAGE, ENGAGE_REFUSED)}

    @extend_schema(summary="Engage the global kill switch: every running experiment stops and its faults are undone "
                           "(Platform admins and Managers)",
                   request=KillSwitchReasonSerializer, responses={200: GlobalKillSwitchSerializer, **ERROR_RESPONSES})
    def post(self, request):
        data = _validated(KillSwitchReasonSerializer, request)
        runs.chaos_kill_switch_global(actor=Actor.from_request(request), user=request.user, engage=True,
                                      reason=data["reason"])
        return Response(_global_switch_data())


class GlobalKillSwitchReleaseView(APIView):
    authz_rule = staticmethod(global_rule)
    authz_actions = {"post": (global_rule, authz.RELEASE, RELEASE_REFUSED)}

    @extend_schema(summary="Release the global kill switch (Platform admins)", request=None,
                   responses={200: GlobalKillSwitchSerializer, **ERROR_RESPONSES})
    def post(self, request):
        runs.chaos_kill_switch_global(actor=Actor.from_request(request), user=request.user, engage=False)
        return Response(_global_switch_data())
