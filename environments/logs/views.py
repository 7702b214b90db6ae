"""The logs pages: live (a websocket does the work, see static/js/log-stream.js) and history."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from portal.audit.actor import Actor
from portal.upstream import ServiceUnavailable

from ..models import Environment
from ..selectors import environment_list
from .forms import HistorySearchForm
from .history import HistoryQueryError
from .services import environment_log_search


def log_sources(environment: Environment) -> list[str]:
    """Component and backing-service names: the values of the pods' ``app.kubernetes.io/name``."""
    snapshot = environment.current_revision.snapshot if environment.current_revision else {}
    return [c["name"] for c in snapshot.get("components", [])] + [
        b["name"] for b in snapshot.get("backing_services", [])]


def _environment(request: HttpRequest, environment_id: int) -> Environment:
    environment = get_object_or_404(environment_list(user=request.user), pk=environment_id)
    if environment.status == Environment.DESTROYED:
        raise PermissionDenied("This environment was destroyed.")
    return environment


@login_required
def environment_logs(request: HttpRequest, environment_id: int) -> HttpResponse:
    environment = _environment(request, environment_id)
    return render(request, "environments/environment_logs.html", {
        "environment": environment, "sources": log_sources(environment),
        "picked": request.GET.getlist("component"), "tail": request.GET.get("tail", "200")})


@login_required
def environment_log_history(request: HttpRequest, environment_id: int) -> HttpResponse:
    environment = _environment(request, environment_id)
    form = HistorySearchForm(request.GET or None, components=log_sources(environment))
    result, error, unavailable = None, "", False
    if form.is_bound and form.is_valid():
        try:
            result = environment_log_search(actor=Actor.from_request(request), environment=environment,
                                            search=form.cleaned_data)
        except HistoryQueryError as exc:
            error = str(exc)
        except ServiceUnavailable as exc:
            error, unavailable = str(exc), True
    status = 400 if (form.is_bound and not form.is_valid()) or error else 200
    status = 503 if unavailable else status
    next_query = request.GET.copy()
    if result and result.next_cursor:
        next_query["cursor"] = result.next_cursor
    return render(request, "environments/environment_log_history.html", {
        "environment": environment, "form": form, "result": result, "error": error,
        "next_query": next_query.urlencode()}, status=status)
