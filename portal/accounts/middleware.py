"""Pages refuse a signed-in account that has no role (the API does the same in portal.api.permissions)."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from . import authz

# The account's own pages, and what signing in and out needs.
OPEN_PAGES = frozenset({"dashboard", "healthz", "readyz", "login", "logout", "password-set", "password-change",
                        "api-schema", "api-docs", "api-token"})


class RoleRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or authz.has_role(user):
            return None
        match = request.resolver_match
        if match is None or match.url_name in OPEN_PAGES or match.url_name is None:
            return None
        if match.namespaces and match.namespaces[0] in ("api", "admin"):
            return None  # the API authorizes per endpoint (token users too); the admin site wants staff
        raise PermissionDenied(authz.NO_ROLE)
