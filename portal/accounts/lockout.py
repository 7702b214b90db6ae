"""What a client locked out by django-axes is told: a page, or the API's error shape, with status 429.

Axes counts failed sign-ins per account and client address (settings: AXES_*); this module only
words the refusal, the same for the login page, the admin's and the API token endpoint.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework import exceptions, status

from portal.api.errors import error_body

LOCKED_OUT = status.HTTP_429_TOO_MANY_REQUESTS


def lockout_seconds() -> int:
    cool_off = get_cool_off()
    return math.ceil(cool_off.total_seconds()) if cool_off else 0


def lockout_message() -> str:
    minutes = math.ceil(lockout_seconds() / 60)
    wait = f"Try again in {minutes} minute{'s' if minutes != 1 else ''}" if minutes else "Try again later"
    return (f"Too many failed sign-ins for this account from your address. {wait}, "
            "or ask a Platform admin to unlock it.")


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
        return super().authenticate(request, username, password, **kwargs)


class SignInLockedOut(exceptions.APIException):
    """The API's form of the lockout (DRF requests are not seen by axes' middleware)."""

    status_code = LOCKED_OUT
    default_code = "locked_out"

    def __init__(self) -> None:
        super().__init__(lockout_message())
        self.wait = lockout_seconds() or None
