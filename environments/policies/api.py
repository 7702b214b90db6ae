"""The policies API (``/api/v1/…``), twin of the pages: environment requests (ask, approve, refuse, cancel,
the queue and its CSV), stage policies and quotas (read by every role, changed by Platform admins)."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from portal.accounts import authz
from portal.api.schema import ERROR_RESPONSES
from portal.audit.actor import Actor

from ..selectors import new_environment_choices
from . import environment_requests, services
from .filters import EnvironmentRequestFilter
from .models import QuotaPolicy, StagePolicy
from .selectors import environment_requests_visible, quota_policies, stage_policies
from .serializers import (
    EnvironmentRequestCreateSerializer,
    EnvironmentRequestSerializer,
    QuotaPolicySerializer,
    RefuseSerializer,
    StagePolicySerializer,
    StagePolicyWriteSerializer,
)
from .tables import ENVIRONMENT_REQUESTS

CSV_RESPONSE = {(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR), **ERROR_RESPONSES}
ASK_REFUSED = "Only QA, Developers and Platform admins ask for environments."
CANCEL_REFUSED = "Only the person who asked, or a Platform admin, may cancel this request."


def _validated(serializer_class: type, request) -> dict:
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)


def request_created_response(request_: Any) -> Response:
    """The 202 answer of a new request (the environment comes when it is approved), its address in ``Location``."""
    return Response(EnvironmentRequestSerializer(request_).data, status=status.HTTP_202_ACCEPTED,
                    headers={"Location": reverse("api:environment-request-detail", kwargs={"pk": request_.pk})})


@extend_schema_view(
    list=extend_schema(summary="Requests for environments you may see (pending first)",
                       responses={200: EnvironmentRequestSerializer(many=True), **ERROR_RESPONSES}),
    retrieve=extend_schema(summary="One request: its state, who decided and why",
                           responses={200: EnvironmentRequestSerializer, **ERROR_RESPONSES}),
    create=extend_schema(summary="Ask for an environment in a stage that needs approval (production)",
                         request=EnvironmentRequestCreateSerializer,
                         responses={202: EnvironmentRequestSerializer, **ERROR_RESPONSES}),
)
class EnvironmentRequestViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    authz_rule = staticmethod(authz.environment_request_can)
    authz_actions = {"cancel": (authz.environment_request_can, authz.CANCEL, CANCEL_REFUSED)}
    authz_messages = {authz.CHANGE: environment_requests.DECIDE_REFUSED, authz.CREATE: ASK_REFUSED}
    serializer_class = EnvironmentRequestSerializer
    filterset_class = EnvironmentRequestFilter

    def get_queryset(self):
        return environment_requests_visible(self.request.user)

    def _actor(self) -> Actor:
        return Actor.from_request(self.request)

    def create(self, request, *args, **kwargs):
        values = _validated(EnvironmentRequestCreateSerializer, request)
        values = new_environment_choices(user=request.user).fill(values)
        asked = environment_requests.environment_request_create(actor=self._actor(), user=request.user, **values)
        return request_created_response(asked)

    @extend_schema(summary="Approve: the environment is created, owned by the requester (Platform admins)",
                   request=None, responses={200: EnvironmentRequestSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        asked = self.get_object()
        environment_requests.environment_request_approve(actor=self._actor(), user=request.user, request=asked)
        return Response(EnvironmentRequestSerializer(self.get_object()).data)

    @extend_schema(summary="Refuse with a reason (Platform admins)", request=RefuseSerializer,
                   responses={200: EnvironmentRequestSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def refuse(self, request, pk=None):
        asked = self.get_object()
        data = _validated(RefuseSerializer, request)
        environment_requests.environment_request_refuse(actor=self._actor(), user=request.user, request=asked,
                                                        reason=data["reason"])
        return Response(EnvironmentRequestSerializer(self.get_object()).data)

    @extend_schema(summary="Cancel your own pending request", request=None,
                   responses={200: EnvironmentRequestSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        asked = self.get_object()
        environment_requests.environment_request_cancel(actor=self._actor(), user=request.user, request=asked)
        return Response(EnvironmentRequestSerializer(self.get_object()).data)

    @extend_schema(summary="Export the filtered requests as CSV", filters=True, responses=CSV_RESPONSE)
    @action(detail=False, methods=["get"], url_path="export")
    def export(self, request):
        return ENVIRONMENT_REQUESTS.download(self.filter_queryset(self.get_queryset()))


@extend_schema_view(
    list=extend_schema(summary="Every stage's policy (a stage without a stored row shows its default)",
                       responses={200: StagePolicySerializer(many=True), **ERROR_RESPONSES}),
    retrieve=extend_schema(summary="One stage's policy", responses={200: StagePolicySerializer, **ERROR_RESPONSES}),
    partial_update=extend_schema(summary="Change a stage's policy (Platform admins; audited with before/after)",
                                 request=StagePolicyWriteSerializer,
                                 responses={200: StagePolicySerializer, **ERROR_RESPONSES}),
)
class StagePolicyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    authz_rule = staticmethod(authz.policy_can)
    authz_messages = {authz.CHANGE: services.EDIT_REFUSED}
    serializer_class = StagePolicySerializer
    lookup_field = "stage"
    lookup_value_regex = "[a-z]+"
    http_method_names = ["get", "patch", "head", "options"]
    pagination_class = None  # four stages
    filter_backends: list = []  # a list of stages in their order, not a queryset: nothing to filter or order

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return StagePolicy.objects.none()
        return stage_policies()

    def get_object(self):
        for policy in stage_policies():
            if policy.stage == self.kwargs["stage"]:
                return policy
        raise Http404("No such stage.")

    def partial_update(self, request, *args, **kwargs):
        policy = self.get_object()
        values = _validated(StagePolicyWriteSerializer, request)
        saved = services.stage_policy_update(actor=Actor.from_request(request), user=request.user,
                                             stage=policy.stage, **values)
        return Response(StagePolicySerializer(saved).data)


@extend_schema_view(
    list=extend_schema(summary="Quotas: the default (no team) and the teams' own",
                       responses={200: QuotaPolicySerializer(many=True), **ERROR_RESPONSES}),
    retrieve=extend_schema(summary="One quota", responses={200: QuotaPolicySerializer, **ERROR_RESPONSES}),
    create=extend_schema(summary="Set the default quota or a team's (Platform admins; replaces the one there was)",
                         request=QuotaPolicySerializer, responses={200: QuotaPolicySerializer, **ERROR_RESPONSES}),
    partial_update=extend_schema(summary="Change a quota (Platform admins)", request=QuotaPolicySerializer,
                                 responses={200: QuotaPolicySerializer, **ERROR_RESPONSES}),
    destroy=extend_schema(summary="Remove a quota: a team's falls back to the default (Platform admins)",
                          responses={204: None, **ERROR_RESPONSES}),
)
class QuotaPolicyViewSet(mixins.CreateModelMixin, mixins.DestroyModelMixin,
                         viewsets.ReadOnlyModelViewSet):
    authz_rule = staticmethod(authz.policy_can)
    authz_messages = {authz.CHANGE: services.EDIT_REFUSED, authz.CREATE: services.EDIT_REFUSED}
    serializer_class = QuotaPolicySerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return quota_policies()

    def _saved(self, policy: QuotaPolicy | None, request) -> Response:
        data = QuotaPolicySerializer(policy, data=request.data, partial=policy is not None)
        data.is_valid(raise_exception=True)
        values = {name: data.validated_data.get(name, getattr(policy, name, None))
                  for name in ("team", "max_per_user", "max_per_team")}
        if policy is not None:
            values["team"] = policy.team  # a quota stays its team's; set another team's with POST
        saved = services.quota_policy_update(actor=Actor.from_request(request), user=request.user, **values)
        return Response(QuotaPolicySerializer(saved).data)

    def create(self, request, *args, **kwargs):
        return self._saved(None, request)

    def partial_update(self, request, *args, **kwargs):
        return self._saved(self.get_object(), request)

    def destroy(self, request, *args, **kwargs):
        services.quota_policy_delete(actor=Actor.from_request(request), user=request.user, policy=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
