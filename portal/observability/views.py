"""/readyz (for probes, public) and /metrics (for Prometheus, a bearer token or a Platform admin)."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from portal.accounts import rules

from .process_metrics import process_registry
from .readyz_checks import readiness
from .scrape_figures import SCRAPE_REGISTRY


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """200 {"status": "ok", "checks": {...}} when every dependency answers, else 503 naming what failed.
    Touches no session and needs no sign-in (kubelet probes carry no cookie)."""
    checks = readiness()
    failing = [name for name, result in checks.items() if result != "ok"]
    if not failing:
        return JsonResponse({"status": "ok", "checks": checks})
    return JsonResponse({"status": "unavailable", "checks": checks,
                         "message": f"Slipway is not ready: {', '.join(failing)} failing."}, status=503)


def _bearer_token_matches(request: HttpRequest) -> bool:
    expected = settings.SLIPWAY_METRICS_TOKEN
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    # Constant time: the comparison must not tell a guesser how many leading characters were right.
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(),
                                                                                   expected.encode())


def _refusal(status: int, sentence: str) -> HttpResponse:
    response = HttpResponse(sentence + "\n", status=status, content_type="text/plain; charset=utf-8")
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="slipway-metrics"'
    return response


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """This web process's figures and the scrape-time totals, in Prometheus' text format."""
    if not _bearer_token_matches(request):
        user = request.user
        if not user.is_authenticated:
            return _refusal(401, "Metrics need the bearer token set in SLIPWAY_METRICS_TOKEN, "
                                 "or a Platform admin's sign-in.")
        if not rules.is_platform_admin(user):
            return _refusal(403, "Only Platform admins (or a scraper with the metrics token) may read metrics.")
    body = generate_latest(process_registry()) + generate_latest(SCRAPE_REGISTRY)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
