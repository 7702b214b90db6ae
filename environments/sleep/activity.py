"""Activity: when someone last used an environment (its pages, its API, its logs, a rollout, a request
to its hostname while it slept). Idle sleep reads it. Kept cheap because it runs on every request: one
indexed read while the last write is under a minute old (the throttle), an UPDATE at most once a minute,
and an INSERT only for an environment that has no sleep state yet.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from ..models import Environment
from .models import SleepState

KINDS = frozenset({"rollout", "logs", "api", "page", "request"})


def activity_record(environment: Environment | int, kind: str, *, now: datetime | None = None) -> None:
    """Record activity of ``kind`` (rollout, logs, api, page, request) on the environment (or its id),
    at most once a minute (``SLIPWAY_ACTIVITY_THROTTLE_SECONDS``). Never raises for a missing environment."""
    if kind not in KINDS:
        raise ValueError(f"unknown activity kind {kind!r}")
    pk = getattr(environment, "pk", environment)
    now = now or timezone.now()
    quiet_since = now - timedelta(seconds=settings.SLIPWAY_ACTIVITY_THROTTLE_SECONDS)
    # The hot path (a person clicking through pages): one indexed read, and nothing more within the minute.
    known = SleepState.objects.filter(environment_id=pk).values_list("last_activity_at", flat=True)[:1]
    if known:
        if known[0] is None or known[0] <= quiet_since:
            (SleepState.objects.filter(environment_id=pk)
             .filter(Q(last_activity_at__isnull=True) | Q(last_activity_at__lte=quiet_since))
             .update(last_activity_at=now, last_activity_kind=kind))
        return
    # Foreign keys are checked at commit (deferred): an unknown id would fail the caller's whole transaction.
    if Environment.objects.filter(pk=pk).exists():
        # A row made meanwhile by another request is left as it is.
        SleepState.objects.bulk_create([SleepState(environment_id=pk, last_activity_at=now,
                                                   last_activity_kind=kind)], ignore_conflicts=True)


# /environments/<id>/… (the environment's page and sub-pages; logs and log history count as "logs") and
# /api/v1/environments/<id>/… (its API).
PAGE_PATH = re.compile(r"^/environments/(?P<pk>\d+)/(?:(?P<sub>[a-z-]+)/)?")
API_PATH = re.compile(r"^/api/v1/environments/(?P<pk>\d+)(?:[/.]|$)")
LOG_PAGES = frozenset({"logs", "log-history"})


def activity_kind_of(path: str) -> tuple[int, str] | None:
    """(environment id, kind) for a request path that uses one environment, else None."""
    match = API_PATH.match(path)
    if match:
        return int(match["pk"]), "api"
    match = PAGE_PATH.match(path)
    if match:
        return int(match["pk"]), "logs" if match["sub"] in LOG_PAGES else "page"
    return None


class ActivityMiddleware:
    """Records a signed-in person's use of an environment's pages and API after the response: only
    successful answers count (a 404 for an environment someone may not see records nothing)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        found = activity_kind_of(request.path_info)
        user = getattr(request, "user", None)
        if found and response.status_code < 400 and getattr(user, "is_authenticated", False):
            activity_record(found[0], found[1])
        return response
