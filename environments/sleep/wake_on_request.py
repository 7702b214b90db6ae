"""Wake on request: while an environment sleeps, its Ingress sends every request for its hostname to
Slipway with the original Host header (the sleep part routes it). This middleware, first in MIDDLEWARE
so that no ALLOWED_HOSTS check answers 400 before it, recognises such a Host and answers with the public
"Waking up <name>" page, which asks for one wake (many requests, one wake: ``environment_wake`` returns
None when it is already waking) and follows it by polling a small JSON status at ``STATUS_PATH``.

What a visitor (not signed in) can learn: the environment's name, status, a percentage, a fixed sentence
and the measured wake-up time — never logs, job messages, versions or secrets. A Host that is not a live
environment's hostname goes on to Slipway as before (unknown hosts get Slipway's usual answer), so the
page tells nothing about other hostnames. Slipway's own hosts (ALLOWED_HOSTS) skip the lookup entirely.

While an environment is awake its Ingress points at the application: requests then never reach Slipway,
so this page (and its "request" activity) sees only the requests that arrive while it sleeps or wakes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import split_domain_port
from django.template.loader import render_to_string
from django.utils import timezone

from portal.audit.actor import Actor

from ..models import Environment
from .activity import activity_record
from .models import SleepState
from .selectors import wake_in_progress
from .services import environment_wake

logger = logging.getLogger(__name__)
STATUS_PATH = "/.slipway/wake-status"
WAKE_ACTOR = "wake-on-request"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "testserver"})
# Statuses whose hostname this page answers for; a destroyed or destroying environment is unknown.
ANSWERED = (Environment.PENDING, Environment.DEPLOYING, Environment.READY, Environment.FAILED,
            Environment.SLEEPING, Environment.ASLEEP, Environment.WAKING)
MESSAGES = {
    Environment.SLEEPING: "It is going to sleep; it wakes up again as soon as that is done.",
    Environment.ASLEEP: "It was asleep to save money; waking it up now.",
    Environment.WAKING: "Starting its components again.",
    Environment.PENDING: "A new version is being rolled out.",
    Environment.DEPLOYING: "A new version is being rolled out.",
    Environment.READY: "It is ready. Reloading…",
    Environment.FAILED: "It could not start. Its owners can see why in Slipway.",
}
HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "X-Frame-Options": "DENY", "X-Robots-Tag": "noindex"}


@dataclass(frozen=True)
class WakeStatus:
    """What the public waking page may show: nothing else leaves this module."""

    name: str
    status: str
    status_label: str
    percent: int
    message: str
    ready: bool
    failed: bool
    wake_seconds: float | None
    elapsed_seconds: float | None


def environment_for_host(host: str) -> Environment | None:
    """The live environment whose hostname is ``host`` (a Host header, port allowed), or None."""
    domain, _port = split_domain_port(host)
    if not domain or domain in LOCAL_HOSTS or domain in settings.ALLOWED_HOSTS:
        return None
    return (Environment.objects.filter(hostname__iexact=domain, status__in=ANSWERED)
            .select_related("sleep_state").first())


def wake_status(environment: Environment) -> WakeStatus:
    """The environment's public wake status."""
    state: SleepState | None = SleepState.objects.filter(environment=environment).first()
    status = environment.status
    percent = {Environment.READY: 100, Environment.ASLEEP: 0, Environment.SLEEPING: 0}.get(status)
    if percent is None:
        rollout = wake_in_progress(environment) if status == Environment.WAKING else None
        percent = min(99, rollout.job.progress) if rollout is not None else 5
    elapsed = None
    if state is not None and state.wake_requested_at and status != Environment.READY:
        elapsed = round((timezone.now() - state.wake_requested_at).total_seconds(), 1)
    return WakeStatus(name=environment.name, status=status, status_label=environment.get_status_display(),
                      percent=percent, message=MESSAGES.get(status, ""), ready=status == Environment.READY,
                      failed=status == Environment.FAILED,
                      wake_seconds=state.last_wake_seconds if state is not None else None, elapsed_seconds=elapsed)


def wake_for_request(environment: Environment) -> None:
    """Ask for the environment's wake (once: a second request finds it waking) and count the request
    as activity. A refusal is logged; the page then shows the status as it is."""
    activity_record(environment, "request")
    if environment.status not in (Environment.ASLEEP, Environment.FAILED):
        return  # awake, or already going to sleep or waking: nothing to ask (a failed one: the service decides)
    try:
        with transaction.atomic():
            environment_wake(actor=Actor.system(WAKE_ACTOR), user=None, environment=environment, reason="request")
    except (ValidationError, PermissionDenied) as exc:
        logger.warning("wake on request of %s refused: %s", environment.name, exc)
    environment.refresh_from_db(fields=["status"])


def _respond(response: HttpResponse) -> HttpResponse:
    for name, value in HEADERS.items():
        response[name] = value
    return response


class WakeOnRequestMiddleware:
    """Answers requests for a live environment's hostname (see the module's docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        environment = environment_for_host(request.META.get("HTTP_HOST", ""))
        if environment is None:
            return self.get_response(request)
        if request.path_info == STATUS_PATH:
            return _respond(JsonResponse(asdict(wake_status(environment))))
        wake_for_request(environment)
        status = wake_status(environment)
        page = render_to_string("environments/sleep/waking.html", {"wake": status, "status_path": STATUS_PATH})
        # 503 with Retry-After: an API client or crawler of the application knows to come back.
        response = HttpResponse(page, status=503)
        response["Retry-After"] = "5"
        return _respond(response)
