"""The sleep schedule API (``/api/v1/…``), the twin of the pages: an environment's schedule overview,
its own schedule set (PUT/PATCH) or dropped (DELETE: the default applies again), and the defaults per
team and/or stage (list with filters, CSV, create, change, delete: Platform admins). Writes go through
``schedule_edits`` (audited)."""

from __future__ import annotations

from django.http import HttpRequest
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.accounts import authz
from portal.api.schema import ERROR_RESPONSES
from portal.audit.actor import Actor

from ..models import Environment
from ..selectors import environment_list
from . import schedule_edits
from .schedule_overview import schedule_overview, sleep_defaults
from .schedule_serializers import (
    SleepDefaultCreateSerializer,
    SleepOverviewSerializer,
    SleepScheduleSerializer,
    SleepScheduleWriteSerializer,
)
from .tables import SLEEP_DEFAULTS

CSV_RESPONSE = {(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR), **ERROR_RESPONSES}
FILTERS = [OpenApiParameter("team", OpenApiTypes.STR, description="a team's slug, or \"none\" for stage defaults"),
           OpenApiParameter("stage", OpenApiTypes.STR, description="a stage, or \"none\" for team defaults")]


def _validated(serializer_class: type, request: HttpRequest) -> dict:
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)


class EnvironmentSleepScheduleView(APIView):
    """An environment's sleep schedule: seen like the environment, changed by whoever may change it."""

    authz_rule = staticmethod(authz.sleep_schedule_can)
    authz_messages = {authz.CHANGE: schedule_edits.CHANGE_REFUSED}

    def authz_object(self) -> Environment:
        if not hasattr(self, "_environment_obj"):
            self._environment_obj = get_object_or_404(environment_list(user=self.request.user, filters={"status": ""}),
                                                      pk=self.kwargs["pk"])
        return self._environment_obj

    def _overview(self) -> Response:
        return Response(SleepOverviewSerializer(schedule_overview(self.authz_object())).data)

    @extend_schema(summary="The environment's sleep schedule (its own or the inherited default), next sleep and "
                           "wake times, and its sleep state (last slept, woke, wake-up time, last activity)",
                   responses={200: SleepOverviewSerializer, **ERROR_RESPONSES})
    def get(self, request, pk: int):
        return self._overview()

    @extend_schema(summary="Give the environment its own sleep schedule, or change it (fields not given keep "
                           "their current or inherited values)",
                   request=SleepScheduleWriteSerializer, responses={200: SleepOverviewSerializer, **ERROR_RESPONSES})
    def put(self, request, pk: int):
        schedule_edits.environment_schedule_set(actor=Actor.from_request(request), user=request.user,
                                                environment=self.authz_object(),
                                                **_validated(SleepScheduleWriteSerializer, request))
        return self._overview()

    @extend_schema(summary="Change the environment's own sleep schedule (as PUT)",
                   request=SleepScheduleWriteSerializer, responses={200: SleepOverviewSerializer, **ERROR_RESPONSES})
    def patch(self, request, pk: int):
        return self.put(request, pk)

    @extend_schema(summary="Drop the environment's own schedule: the default for its team and stage applies again",
                   request=None, responses={200: SleepOverviewSerializer, **ERROR_RESPONSES})
    def delete(self, request, pk: int):
        schedule_edits.environment_schedule_clear(actor=Actor.from_request(request), user=request.user,
                                                  environment=self.authz_object())
        return self._overview()


@extend_schema_view(
    list=extend_schema(summary="Default sleep schedules per team and/or stage", parameters=FILTERS),
    retrieve=extend_schema(summary="One default sleep schedule"),
)
class SleepDefaultViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    authz_rule = staticmethod(authz.sleep_default_can)
    authz_messages = {authz.CHANGE: schedule_edits.DEFAULTS_REFUSED, authz.CREATE: schedule_edits.DEFAULTS_REFUSED}
    serializer_class = SleepScheduleSerializer

    def get_queryset(self):
        if self.action in ("list", "export"):
            return sleep_defaults({name: self.request.query_params.get(name, "") for name in ("team", "stage")})
        return sleep_defaults()

    @extend_schema(summary="Create a default for a team and/or a stage (Platform admins)",
                   request=SleepDefaultCreateSerializer, responses={201: SleepScheduleSerializer, **ERROR_RESPONSES})
    def create(self, request):
        data = _validated(SleepDefaultCreateSerializer, request)
        made = schedule_edits.sleep_default_create(actor=Actor.from_request(request), user=request.user, **data)
        return Response(SleepScheduleSerializer(made).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Change a default's times, time zone, idle hours or enabled (Platform admins)",
                   request=SleepScheduleWriteSerializer, responses={200: SleepScheduleSerializer, **ERROR_RESPONSES})
    def partial_update(self, request, pk=None):
        saved = schedule_edits.sleep_default_update(actor=Actor.from_request(request), user=request.user,
                                                    schedule=self.get_object(),
                                                    **_validated(SleepScheduleWriteSerializer, request))
        return Response(SleepScheduleSerializer(saved).data)

    @extend_schema(summary="Delete a default (Platform admins)", request=None,
                   responses={204: None, **ERROR_RESPONSES})
    def destroy(self, request, pk=None):
        schedule_edits.sleep_default_delete(actor=Actor.from_request(request), user=request.user,
                                            schedule=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Export the filtered defaults as CSV", parameters=FILTERS, responses=CSV_RESPONSE)
    @action(detail=False, methods=["get"], url_path="export")
    def export(self, request):
        return SLEEP_DEFAULTS.download(self.get_queryset())
