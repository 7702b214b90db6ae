from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from environments.selectors import environment_list, environments_expiring
from portal.accounts import authz
from portal.audit.selectors import audit_event_list
from portal.jobs.selectors import job_list, jobs_with_waiting


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: 200 while this process answers, with the database's state reported; no authentication,
    no secrets. A database outage does not fail it: restarting every web process would not bring the
    database back (readiness is what takes a process out of service)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception:
        database = "unavailable"
    return JsonResponse({"status": "ok", "database": database})


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {"recent_jobs": jobs_with_waiting(job_list(user=user)[:10]),
               "environments": environment_list(user=user)[:10],
               "expiring": environments_expiring(user=user, hours=settings.SLIPWAY_EXPIRY_NOTICE_HOURS)}
    if authz.audit_can(user):
        events, _ = audit_event_list(user=user)
        context["recent_events"] = events[:10]
    return render(request, "dashboard/dashboard.html", context)
