from django.conf import settings
from django.http import HttpRequest

from . import authz, rules


def roles(request: HttpRequest) -> dict:
    """Template flags for navigation: which sections this user may open."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"oidc_enabled": settings.SLIPWAY_OIDC_ENABLED}
    return {
        "user_roles": sorted(rules.role_names(user)) or (["Superuser"] if user.is_superuser else []),
        "can_view_audit": authz.audit_can(user),
        "is_platform_admin": rules.is_platform_admin(user),
    }
