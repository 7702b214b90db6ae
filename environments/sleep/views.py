"""The "Sleep now" and "Wake now" buttons of the environment page. The job's live progress shows on the
page like a rollout's (the latest job of the environment)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from portal.audit.actor import Actor

from ..selectors import environment_list
from .services import environment_sleep, environment_wake


def _visible(request: HttpRequest, environment_id: int):
    return get_object_or_404(environment_list(user=request.user, filters={"status": ""}), pk=environment_id)


@login_required
@require_POST
def environment_sleep_now(request: HttpRequest, environment_id: int) -> HttpResponse:
    """A refusal of the use case (PermissionDenied) answers 403; "not now" is a message on the page."""
    environment = _visible(request, environment_id)
    try:
        environment_sleep(actor=Actor.from_request(request), user=request.user, environment=environment)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Going to sleep: its Deployments scale to zero; Wake now (or a visit to its "
                                  "hostname) brings it back.")
    return redirect("environment-detail", environment_id=environment.pk)


@login_required
@require_POST
def environment_wake_now(request: HttpRequest, environment_id: int) -> HttpResponse:
    environment = _visible(request, environment_id)
    try:
        rollout = environment_wake(actor=Actor.from_request(request), user=request.user, environment=environment)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if rollout is None:
            messages.info(request, "It is not asleep (or it is already waking up): nothing to wake.")
        else:
            messages.success(request, "Waking up: saved replica counts, autoscalers and routes are being restored.")
    return redirect("environment-detail", environment_id=environment.pk)
