"""The cost API (``/api/v1/…``), the twin of the cost pages: totals grouped and filtered, an environment's
cost, a cluster's prices (read; admins write), team budgets (read; admins write) and the forecast of a
new environment (``POST environments/forecast/`` with the create payload)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import get_object_or_404
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from clusters.models import Cluster
from portal.accounts import authz
from portal.accounts.models import Team
from portal.api.schema import ERROR_RESPONSES
from portal.audit.actor import Actor
from portal.query_params import InvalidParameter

from ..models import Blueprint, Environment
from ..render import RenderError
from ..selectors import environment_list
from ..templatetags.cost_tags import environment_cost_figures
from .budgets import budget_status, budget_statuses
from .forecast import forecast_for_new_environment
from .forms import CostFilterForm
from .prices import prices_for
from .selectors import GROUPINGS, budgets_visible, cost_samples_filtered, cost_samples_visible, cost_total, cost_totals
from .serializers import (
    BudgetSerializer,
    BudgetWriteSerializer,
    CostRowSerializer,
    EnvironmentCostSerializer,
    ForecastRequestSerializer,
    ForecastSerializer,
    PricesSerializer,
    PricesWriteSerializer,
)
from .services import budget_set, price_table_update
from .views import BUDGETS_REFUSED, PRICES_REFUSED

FILTERS = [OpenApiParameter("by", OpenApiTypes.STR, enum=list(GROUPINGS), description="group by (default team)"),
           OpenApiParameter("team", OpenApiTypes.STR, description="a team's slug"),
           OpenApiParameter("stage", OpenApiTypes.STR),
           OpenApiParameter("cluster", OpenApiTypes.STR, description="a cluster's name"),
           OpenApiParameter("month", OpenApiTypes.STR, description="YYYY-MM"),
           OpenApiParameter("page", OpenApiTypes.INT)]


def _validated(serializer_class: type, request) -> dict[str, Any]:
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)


class CostTotalsView(APIView):
    authz_rule = staticmethod(authz.cost_can)

    @extend_schema(summary="Costs grouped by team, owner, stage, cluster, environment or month (paginated rows, "
                           "and the total of every row)", parameters=FILTERS,
                   responses={200: CostRowSerializer(many=True), **ERROR_RESPONSES})
    def get(self, request):
        form = CostFilterForm(request.query_params)
        if not form.is_valid():
            field, errors = next(iter(form.errors.items()))
            raise InvalidParameter(field, " ".join(errors))
        samples = cost_samples_filtered(cost_samples_visible(request.user), form.filters())
        paginator = PageNumberPagination()
        rows = paginator.paginate_queryset(cost_totals(samples, by=form.grouping()), request, view=self)
        response = paginator.get_paginated_response(CostRowSerializer(rows, many=True).data)
        response.data["by"] = form.grouping()
        response.data["total"] = CostRowSerializer(cost_total(samples)).data
        return response


class EnvironmentCostView(APIView):
    authz_rule = staticmethod(authz.cost_can)

    def authz_object(self) -> Environment:
        if not hasattr(self, "_environment"):
            self._environment = get_object_or_404(environment_list(user=self.request.user, include_destroyed=True),
                                                  pk=self.kwargs["pk"])
        return self._environment

    @extend_schema(summary="An environment's cost this month so far, and per day running",
                   responses={200: EnvironmentCostSerializer, **ERROR_RESPONSES})
    def get(self, request, pk: int):
        return Response(EnvironmentCostSerializer(environment_cost_figures(self.authz_object())).data)


def _prices_data(cluster: Cluster) -> dict[str, Any]:
    prices = prices_for(cluster)
    return {"cluster": cluster.name, **{f: getattr(prices, f) for f in (
        "from_table", "currency", "vcpu_hour", "gib_hour", "storage_gib_month", "default_instance_type", "source")},
        "node_hours": {k: str(v) for k, v in prices.node_hours.items()}}


class ClusterPricesView(APIView):
    authz_rule = staticmethod(authz.price_table_can)
    authz_messages = {authz.CHANGE: PRICES_REFUSED}

    def authz_object(self) -> Cluster:
        return get_object_or_404(Cluster, pk=self.kwargs["pk"])

    @extend_schema(summary="A cluster's prices (its own table, or the public defaults)",
                   responses={200: PricesSerializer, **ERROR_RESPONSES})
    def get(self, request, pk: int):
        return Response(PricesSerializer(_prices_data(self.authz_object())).data)

    @extend_schema(summary="Set a cluster's prices (Platform admins; audited cost.prices_updated)",
                   request=PricesWriteSerializer, responses={200: PricesSerializer, **ERROR_RESPONSES})
    def put(self, request, pk: int):
        cluster = self.authz_object()
        price_table_update(actor=Actor.from_request(request), user=request.user, cluster=cluster,
                           **_validated(PricesWriteSerializer, request))
        return Response(PricesSerializer(_prices_data(cluster)).data)


class BudgetsView(APIView):
    authz_rule = staticmethod(authz.budget_can)
    authz_messages = {authz.CREATE: BUDGETS_REFUSED}

    @extend_schema(summary="The team budgets the caller may see, with this month's spending",
                   responses={200: BudgetSerializer(many=True), **ERROR_RESPONSES})
    def get(self, request):
        return Response(BudgetSerializer(budget_statuses(budgets_visible(request.user)), many=True).data)

    @extend_schema(summary="Set a team's monthly budget (Platform admins; audited cost.budget_updated)",
                   request=BudgetWriteSerializer, responses={200: BudgetSerializer, **ERROR_RESPONSES})
    def put(self, request):
        data = _validated(BudgetWriteSerializer, request)
        team = Team.objects.filter(slug=data.pop("team")).first()
        if team is None:
            raise ValidationError({"team": ["No team has this slug."]})
        budget = budget_set(actor=Actor.from_request(request), user=request.user, team=team, **data)
        return Response(BudgetSerializer(budget_status(budget)).data)


class ForecastView(APIView):
    """Any role may ask (a forecast reads prices and a blueprint); creating is judged when it happens."""

    authz_rule = staticmethod(authz.cost_can)
    authz_actions = {"post": (authz.cost_can, authz.VIEW)}

    @extend_schema(summary="What a new environment would cost: per day running, and with the team's sleep schedule",
                   request=ForecastRequestSerializer, responses={200: ForecastSerializer, **ERROR_RESPONSES})
    def post(self, request):
        data = _validated(ForecastRequestSerializer, request)
        cluster = Cluster.objects.filter(name=data["cluster"]).exclude(status=Cluster.DESTROYED).first()
        blueprint = Blueprint.objects.filter(pk=data["blueprint"]).first()
        errors = {**({"cluster": [f"No cluster is named '{data['cluster']}'."]} if cluster is None else {}),
                  **({"blueprint": [f"No blueprint has id {data['blueprint']}."]} if blueprint is None else {})}
        if errors:
            raise ValidationError(errors)
        try:
            forecast = forecast_for_new_environment(cluster=cluster, blueprint=blueprint, stage=data["stage"],
                                                    versions=data["versions"],
                                                    team=Team.objects.filter(slug=data["team"]).first())
        except RenderError as exc:
            raise ValidationError({"blueprint": [f"This blueprint does not render: {exc}"]}) from None
        return Response(ForecastSerializer(forecast).data)
