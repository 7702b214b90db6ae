"""The reports API (``/api/v1/reports/…``): every table and figure of the managers' dashboard, with the same
filters (team, stage, weeks, idle_hours) and the same visibility (everything for Managers and Platform admins,
one's own and one's teams' for others). Read-only."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.accounts import authz
from portal.api.schema import ERROR_RESPONSES

from . import selectors
from .filters import ReportFilterForm
from .selectors import DEFAULT_IDLE_HOURS, DEFAULT_WEEKS, PERIOD_WEEKS
from .serializers import (
    CountRowSerializer,
    IdleEnvironmentSerializer,
    MonthCostSerializer,
    ReportEnvironmentSerializer,
    ReportSummarySerializer,
    TeamCostRowSerializer,
    WeekRowSerializer,
)
from .tables import REPORT_TABLES

FILTERS = [
    OpenApiParameter("team", OpenApiTypes.STR, description="a team's slug (default: every team)"),
    OpenApiParameter("stage", OpenApiTypes.STR, description="dev, qa, staging or prod (default: every stage)"),
    OpenApiParameter("weeks", OpenApiTypes.INT, enum=list(PERIOD_WEEKS),
                     description=f"the period: this many calendar weeks up to now (default {DEFAULT_WEEKS})"),
    OpenApiParameter("idle_hours", OpenApiTypes.INT,
                     description=f"idle after this many hours without activity (default {DEFAULT_IDLE_HOURS})"),
]


class _ReportView(APIView):
    """One dashboard table, every row (tables of a bounded size: counts, weeks, teams, months)."""

    authz_rule = staticmethod(authz.reports_can)
    table = ""  # the REPORT_TABLES key whose rows this endpoint answers
    serializer_class = CountRowSerializer

    def get(self, request):
        rows = REPORT_TABLES[self.table].rows(request.user, ReportFilterForm(request.query_params).scope())
        return Response(self.serializer_class(rows, many=True).data)


class _ReportListView(ListAPIView):
    """One dashboard list of environments, paginated (``page``, ``page_size``)."""

    authz_rule = staticmethod(authz.reports_can)
    table = ""
    filter_backends = []  # the report's own filters only

    def get_queryset(self):
        return REPORT_TABLES[self.table].rows(self.request.user, ReportFilterForm(self.request.query_params).scope())


def _report(table: str, serializer, *, paginated: bool = False) -> type[APIView]:
    """An endpoint answering one dashboard table, documented with its title."""
    base = _ReportListView if paginated else _ReportView
    view = type(f"Report{table.title().replace('-', '')}View", (base,),
                {"table": table, "serializer_class": serializer, "__doc__": REPORT_TABLES[table].title})
    return extend_schema(summary=REPORT_TABLES[table].title, parameters=FILTERS,
                         responses={200: serializer(many=True), **ERROR_RESPONSES})(view)


REPORT_VIEWS = {
    "by-team": _report("by-team", CountRowSerializer),
    "by-owner": _report("by-owner", CountRowSerializer),
    "by-stage": _report("by-stage", CountRowSerializer),
    "by-age": _report("by-age", CountRowSerializer),
    "weekly": _report("weekly", WeekRowSerializer),
    "top-creators": _report("top-creators", CountRowSerializer),
    "cost-by-team": _report("cost-by-team", TeamCostRowSerializer),
    "cost-by-month": _report("cost-by-month", MonthCostSerializer),
    "longest-lived": _report("longest-lived", ReportEnvironmentSerializer, paginated=True),
    "idle": _report("idle", IdleEnvironmentSerializer, paginated=True),
}


class ReportSummaryView(APIView):
    authz_rule = staticmethod(authz.reports_can)

    @extend_schema(summary="The dashboard's key figures: live, created, destroyed, idle, cost and saving",
                   parameters=FILTERS, responses={200: ReportSummarySerializer, **ERROR_RESPONSES})
    def get(self, request):
        scope = ReportFilterForm(request.query_params).scope()
        return Response(ReportSummarySerializer(selectors.report_summary(request.user, scope)).data)
