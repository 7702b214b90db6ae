from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.accounts.selectors import team_suggestions, user_suggestions

from .choices import system_actor_names
from .selectors import audit_event_list
from .tables import AUDIT_EVENTS


@login_required
def audit_list(request: HttpRequest) -> HttpResponse:
    events, filterset = audit_event_list(user=request.user, filters=request.GET)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/audit_list.html", {
        "page": page, "filter": filterset, "query": query.urlencode(),
        "actor_suggestions": [*user_suggestions(), *system_actor_names()], "team_suggestions": team_suggestions()})


@login_required
def audit_export(request: HttpRequest) -> HttpResponse:
    events, _ = audit_event_list(user=request.user, filters=request.GET)
    return AUDIT_EVENTS.download(events)


@login_required
def audit_object_history(request: HttpRequest, object_type: str, object_id: str) -> HttpResponse:
    events, _ = audit_event_list(user=request.user, filters={"object_type": object_type, "object_id": object_id})
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "audit/audit_history.html",
                  {"page": page, "object_type": object_type, "object_id": object_id,
                   "object_repr": events[0].object_repr if events else f"{object_type} {object_id}"})
