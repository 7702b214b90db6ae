"""Counts and times every HTTP request by view and status, and writes one access line per request.

First in MIDDLEWARE, so refusals by later middleware (oversized bodies, the HTTPS redirect) count
too. The view label is the resolved URL name (``api:environment-list``), never the raw path, so a
scanner requesting random paths adds no series: unresolved requests count as ``<unresolved>``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .log_context import LogContext, user_name
from .process_metrics import HTTP_DURATION, HTTP_REQUESTS, method_label

access_log = logging.getLogger("slipway.access")

UNRESOLVED = "<unresolved>"


def view_label(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNRESOLVED
    return match.view_name or match.route or UNRESOLVED


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        view = view_label(request)
        HTTP_REQUESTS.labels(view, method_label(request.method), str(response.status_code)).inc()
        HTTP_DURATION.labels(view).observe(elapsed)
        # The path without its query string: a query may carry a token or a search a person typed.
        # Written after the request's own log context is gone (this middleware is outermost): the line
        # carries the request's id and user itself.
        context = LogContext(request_id=getattr(request, "request_id", None), path=request.path, request=request)
        access_log.info("%s %s %s %.1f ms", request.method, request.path, response.status_code, elapsed * 1000,
                        extra={"request_id": context.request_id, "user": user_name(context), "path": request.path,
                               "view": view})
        return response
