"""The API's side of ``portal.accounts.authz``: every endpoint is authorized BEFORE its body is read.

A view names its object kind's function (``authz_rule = staticmethod(authz.environment_can)``). Safe methods ask
VIEW; other methods ask CHANGE of the object in the URL, or CREATE (may this user create this kind
at all; the use case then judges the chosen target). ``authz_actions`` overrides an action:
``{"promote": (authz.environment_can, authz.CHANGE)}``. A view without ``authz_rule`` is refused: an
endpoint added without a decision serves nobody.

The object in the URL is loaded through the view's own (permission-filtered) lookup, so an object
the caller may not see answers 404, and one they see but may not change answers 403, before any
validation of the request body (a refused caller learns nothing from a 400).
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from portal.accounts import authz


class Authorized(BasePermission):
    """Default permission of every API view (settings.REST_FRAMEWORK)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not getattr(user, "is_authenticated", False):
            return False  # 401/403 from DRF's authenticators, as before
        if getattr(view, "authz_open", False):
            return True  # the caller's own things (their profile) or credentials in the body
        if getattr(view, "swagger_fake_view", False) or hasattr(view, "api_root_dict"):
            return True  # the schema generator; the router's root view (a list of links, no data)
        if not authz.has_role(user):
            raise PermissionDenied(authz.NO_ROLE)
        decide, action = self._decision(request, view)
        target = self._target(view)
        if not decide(user, action, target):
            raise PermissionDenied(getattr(view, "authz_message", None) or
                                   "You do not have permission to perform this action.")
        return True

    @staticmethod
    def _decision(request, view) -> tuple[Any, str]:
        overrides = getattr(view, "authz_actions", {})
        name = getattr(view, "action", None) or request.method.lower()
        if name in overrides:
            return overrides[name]
        decide = getattr(view, "authz_rule", None)
        if decide is None:
            raise PermissionDenied("This endpoint has no authorization rule.")
        if request.method in SAFE_METHODS:
            return decide, authz.VIEW
        return decide, authz.CHANGE if Authorized._has_object(view) else authz.CREATE

    @staticmethod
    def _has_object(view) -> bool:
        if hasattr(view, "authz_object"):
            return True
        kwarg = getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", None)
        return bool(kwarg) and kwarg in view.kwargs

    @staticmethod
    def _target(view) -> Any:
        if hasattr(view, "authz_object"):
            return view.authz_object()
        if Authorized._has_object(view):
            return view.get_object()  # 404 for an object the caller may not see
        return None
