"""The sign-in lockout around django-axes, and what a locked-out client is told.

Axes counts failed sign-ins per account and client address (settings: AXES_*). On top, one
address is refused once it has failed SLIPWAY_SIGN_IN_ADDRESS_LIMIT times across all usernames
(password spraying: one guess at each of many accounts never reaches the per-account limit).
The refusal is a page, or the API's error shape, with status 429, alike for the login page, the
admin's, the change-password form and the API token endpoint.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from rest_framework import exceptions, status

from portal.api.errors import error_body
from portal.request_context import source_ip

LOCKED_OUT = status.HTTP_429_TOO_MANY_REQUESTS


def lockout_seconds() -> int:
    cool_off = get_cool_off()
    return math.ceil(cool_off.total_seconds()) if cool_off else 0


def lockout_message() -> str:
    minutes = math.ceil(lockout_seconds() / 60)
    wait = f"Try again in {minutes} minute{'s' if minutes != 1 else ''}" if minutes else "Try again later"
    return f"Too many failed sign-ins from your address. {wait}, or ask a Platform admin to unlock it."


def address_failures(ip_address: str | None) -> int:
    """Failed sign-ins from ``ip_address`` within the cool-off, whatever the usernames tried."""
    if not ip_address:
        return 0
    recent = AccessAttempt.objects.filter(ip_address=ip_address)
    if get_cool_off():
        recent = recent.filter(attempt_time__gte=timezone.now() - get_cool_off())
    return recent.aggregate(total=Sum("failures_since_start"))["total"] or 0


def attempted_username(request: Any, credentials: Mapping[str, Any] | None = None) -> str | None:
    """AXES_USERNAME_CALLABLE: the username tried, cut to the longest an account can have.

    The sender chooses it; uncut, a long one overflowed axes' column and the sign-in failed with a 500.
    """
    data = credentials if credentials is not None else getattr(request, "data", None) or request.POST
    username = data.get("username") if isinstance(data, Mapping) else None
    if username is None:
        return None
    return str(username)[:get_user_model()._meta.get_field(get_user_model().USERNAME_FIELD).max_length]


def _retry_after(response: HttpResponse) -> HttpResponse:
    if lockout_seconds():
        response["Retry-After"] = str(lockout_seconds())
    return response


def lockout_response(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the refusal for a locked-out sign-in (JSON under /api/, else a page)."""
    if request.path.startswith("/api/"):
        return _retry_after(JsonResponse(error_body(LOCKED_OUT, "locked_out", lockout_message()), status=LOCKED_OUT))
    return _retry_after(render(request, "registration/locked_out.html", {"message": lockout_message()},
                               status=LOCKED_OUT))


class LockoutBackend(AxesStandaloneBackend):
    """Axes' lockout check, first of AUTHENTICATION_BACKENDS, for every sign-in that comes with a request.

    Every network sign-in passes its request (the login views, the admin's, the token endpoint's
    serializer, OIDC). A call without one is server-side code (a shell, a test checking a password):
    there is no client address to count against, so it is left to the next backends instead of
    failing with axes' AxesBackendRequestParameterRequired.
    """

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> None:
        if request is None:
            return None
        if address_failures(source_ip(request)) >= settings.SLIPWAY_SIGN_IN_ADDRESS_LIMIT:
            # Flagged as axes flags its own refusals: the middleware (or the token view) answers 429.
            request.axes_locked_out = True
            raise AxesBackendPermissionDenied("too many failed sign-ins from this address")
        return super().authenticate(request, username, password, **kwargs)


class SignInLockedOut(exceptions.APIException):
    """The API's form of the lockout (DRF requests are not seen by axes' middleware)."""

    status_code = LOCKED_OUT
    default_code = "locked_out"

    def __init__(self) -> None:
        super().__init__(lockout_message())
        self.wait = lockout_seconds() or None
