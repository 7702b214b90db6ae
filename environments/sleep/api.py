"""The sleep API: ``POST /api/v1/environments/{id}/sleep/`` and ``/wake/`` (202 with the job), and the
environment's sleep state. A refusal because of what the environment is doing is a 409 with the sentence."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.generics import get_object_or_404  # a malformed id is a 404, not a ValueError
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.accounts import authz
from portal.api.schema import ERROR_RESPONSES, ErrorSerializer
from portal.audit.actor import Actor
from portal.jobs.serializers import JobSerializer

from ..models import Environment
from ..selectors import environment_list
from .models import SleepState
from .selectors import wake_in_progress
from .serializers import SleepRequestSerializer, SleepStateSerializer, WakeNothingSerializer
from .services import CHANGE_REFUSED, SleepRefused, environment_sleep, environment_wake

CONFLICT = {409: OpenApiResponse(ErrorSerializer,
                                 description="Not now: a rollout, a chaos run, a sleep or a wake is in progress, "
                                             "or it is already asleep (the message says which)")}


class Conflict(exceptions.APIException):
    status_code, default_code = status.HTTP_409_CONFLICT, "conflict"


class _EnvironmentSleepView(APIView):
    """Seen like the environment; put to sleep and woken by whoever may change it."""

    authz_rule = staticmethod(authz.sleep_can)
    authz_messages = {authz.CHANGE: CHANGE_REFUSED}

    def authz_object(self) -> Environment:
        if not hasattr(self, "_environment_obj"):
            self._environment_obj = get_object_or_404(
                environment_list(user=self.request.user, filters={"status": ""}), pk=self.kwargs["pk"])
        return self._environment_obj

    def _reason(self) -> str:
        data = SleepRequestSerializer(data=self.request.data)
        data.is_valid(raise_exception=True)
        return data.validated_data["reason"]


class EnvironmentSleepView(_EnvironmentSleepView):
    @extend_schema(summary="Put the environment to sleep (Deployments to zero, autoscalers suspended, its hostnames "
                           "answered by Slipway's waking page)",
                   description="202 with the sleep job. 409 when it cannot sleep now: not ready, a rollout or a "
                               "chaos experiment in progress, already asleep.",
                   request=SleepRequestSerializer, responses={202: JobSerializer, **ERROR_RESPONSES, **CONFLICT})
    def post(self, request, pk: int):
        reason = self._reason()
        try:
            rollout = environment_sleep(actor=Actor.from_request(request), user=request.user,
                                        environment=self.authz_object(), reason=reason)
        except SleepRefused as exc:
            raise Conflict(exc.messages[0]) from exc
        return Response(JobSerializer(rollout.job).data, status=status.HTTP_202_ACCEPTED)


class EnvironmentWakeView(_EnvironmentSleepView):
    @extend_schema(summary="Wake the environment up (saved replica counts, autoscalers and routes restored)",
                   description="202 with the wake job — the one already under way when it is waking (many "
                               "requests, one wake). 200 when it is not asleep: nothing to wake.",
                   request=SleepRequestSerializer,
                   responses={202: JobSerializer, 200: WakeNothingSerializer, **ERROR_RESPONSES})
    def post(self, request, pk: int):
        reason = self._reason()
        environment = self.authz_object()
        rollout = environment_wake(actor=Actor.from_request(request), user=request.user, environment=environment,
                                   reason=reason) or wake_in_progress(environment)
        if rollout is not None:
            return Response(JobSerializer(rollout.job).data, status=status.HTTP_202_ACCEPTED)
        environment.refresh_from_db(fields=["status"])
        return Response({"status": environment.status,
                         "message": f"{environment.name} is {environment.get_status_display().lower()}, not asleep: "
                                    "nothing to wake."})


class EnvironmentSleepStateView(_EnvironmentSleepView):
    @extend_schema(summary="The environment's sleep state: saved counts, when it slept and woke, last wake-up time",
                   responses={200: SleepStateSerializer, **ERROR_RESPONSES})
    def get(self, request, pk: int):
        environment = self.authz_object()
        state = SleepState.objects.filter(environment=environment).first() or SleepState(environment=environment)
        return Response(SleepStateSerializer(state).data)
