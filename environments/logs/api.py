"""REST: search an environment's log history (the page's search, same form and rules)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import get_object_or_404  # a malformed id is a 404, not a ValueError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.accounts import authz
from portal.api.schema import ERROR_RESPONSES
from portal.audit.actor import Actor

from ..models import Environment
from ..selectors import environment_list
from .forms import HistorySearchForm
from .history import HistoryQueryError
from .services import environment_log_search

HistoryEventSerializer = inline_serializer(name="LogHistoryEvent", fields={
    "timestamp": serializers.DateTimeField(), "container": serializers.CharField(), "pod": serializers.CharField(),
    "message": serializers.CharField(), "event_id": serializers.CharField()})
HistoryPageSerializer = inline_serializer(name="LogHistoryPage", fields={
    "events": serializers.ListField(child=HistoryEventSerializer), "next_cursor": serializers.CharField(),
    "notice": serializers.CharField(), "source": serializers.CharField()})


class LogHistoryView(APIView):
    authz_rule = staticmethod(authz.logs_can)

    def authz_object(self):
        return get_object_or_404(environment_list(user=self.request.user), pk=self.kwargs["pk"])

    @extend_schema(
        summary="Search an environment's log history",
        parameters=[OpenApiParameter(name, OpenApiTypes.STR, description=text) for name, text in (
            ("component", "component (log stream prefix <component>/)"), ("pod", "pod (needs component)"),
            ("start", "ISO 8601 start"), ("end", "ISO 8601 end"), ("around", "ISO 8601: ±2 minutes around"),
            ("text", 'word "a phrase" -excluded, or ?any ?of ?these'), ("cursor", "next_cursor of the previous page"),
            ("limit", "events per page, 1-1000 (100)"))],
        responses={200: HistoryPageSerializer, **ERROR_RESPONSES})
    def get(self, request: Request, pk: int) -> Response:
        environment = get_object_or_404(environment_list(user=request.user), pk=pk)
        if environment.status == Environment.DESTROYED:
            raise ValidationError("This environment was destroyed.")
        form = HistorySearchForm(request.query_params)
        if not form.is_valid():
            raise ValidationError({k: [str(m) for m in v] for k, v in form.errors.items()})
        try:
            page = environment_log_search(actor=Actor.from_request(request), environment=environment,
                                          search=form.cleaned_data)
        except HistoryQueryError as exc:
            raise ValidationError({"text": [str(exc)]}) from exc
        return Response({"events": [{"timestamp": e.timestamp, "container": e.container, "pod": e.pod,
                                     "message": e.message, "event_id": e.event_id} for e in page.events],
                         "next_cursor": page.next_cursor, "notice": page.notice, "source": page.source})
