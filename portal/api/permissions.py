"""The API's side of ``portal.accounts.authz``: every endpoint is authorized BEFORE its body is read.

A view names its object kind's function (``authz_rule = staticmethod(authz.environment_can)``). Safe methods ask
VIEW; other methods ask CHANGE of the object in the URL, or CREATE (may this user create this kind
at all; the use case then judges the chosen target). ``authz_actions`` overrides an action:
``{"promote": (authz.environment_can, authz.CHANGE)}`` (a third item: the refusal's message);
``authz_messages`` maps an action to the refusal's message. A view without ``authz_rule`` is refused: an
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
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.audit.services import audit_record


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
        if not hasattr(view, request.method.lower()):
            return True  # a method the endpoint does not serve: DRF answers 405

        if not authz.has_role(user):
            raise PermissionDenied(authz.NO_ROLE)
        decide, action, message = self._decision(request, view)
        target = self._target(view)
        if not decide(user, action, target):
            message = (message or getattr(view, "authz_messages", {}).get(action) or
                       "You do not have permission to perform this action.")
            if request.method not in SAFE_METHODS:
                self._audit_refusal(request, view, target, message)
            raise PermissionDenied(message)
        return True

    @staticmethod
    def _audit_refusal(request, view, target: Any, message: str) -> None:
        """A refused write is audited as the use case would have been ("component.create": failure)."""
        kind = getattr(view, "basename", None) or type(view).__name__
        use_case = getattr(view, "action", None) or request.method.lower()
        audit_record(actor=Actor.from_request(request), action=f"{kind}.{use_case}".replace("-", "_"), obj=target,
                     outcome=AuditEvent.FAILURE, error=message)

    @staticmethod
    def _decision(request, view) -> tuple[Any, str, str | None]:
        overrides = getattr(view, "authz_actions", {})
        name = getattr(view, "action", None) or request.method.lower()
        if name in overrides:
            decide, action, *message = overrides[name]
            return decide, action, message[0] if message else None
        decide = getattr(view, "authz_rule", None)
        if decide is None:
            raise PermissionDenied("This endpoint has no authorization rule.")
        if request.method in SAFE_METHODS:
            return decide, authz.VIEW, None
        return decide, authz.CHANGE if Authorized._has_object(view) else authz.CREATE, None

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
