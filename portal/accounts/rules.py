"""Roles and team membership of a user, and the row filter selectors share.

The decisions (who may do what to which object) are in ``portal.accounts.authz``, one function
per object kind; this module only answers "which roles and teams does this user have".
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q

from . import roles

PRODUCTION_STAGES = frozenset({"prod", "production"})


def _memo(user: Any, attr: str, load) -> set:
    # Cached on the user object: one query per request however many objects are checked.
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, attr, None)
    if cached is None:
        cached = set(load())
        setattr(user, attr, cached)
    return cached


def role_names(user: Any) -> set[str]:
    return _memo(user, "_slipway_roles", lambda: user.groups.values_list("name", flat=True))


def team_ids(user: Any) -> set[int]:
    return _memo(user, "_slipway_team_ids", lambda: user.teams.values_list("id", flat=True))


def is_platform_admin(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False)) or roles.PLATFORM_ADMINS in role_names(user)


def require_platform_admin(user: Any, what: str) -> None:
    """Raise PermissionDenied("Only Platform admins <what>.") unless ``user`` is one."""
    if not is_platform_admin(user):
        raise PermissionDenied(f"Only Platform admins {what}.")


def is_manager(user: Any) -> bool:
    return roles.MANAGERS in role_names(user)


def is_self_service(user: Any) -> bool:
    return bool(role_names(user) & {roles.DEVELOPERS, roles.QA})


def visible_filter(user: Any, *, owner_field: str = "owner", team_field: str = "team"):
    """A Q object selecting the rows ``user`` may see, for selectors (None means all rows)."""
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    if is_platform_admin(user) or is_manager(user):
        return None
    if not role_names(user):
        return Q(pk__in=[])  # an account with no role sees nothing, its teams' objects included
    return Q(**{owner_field: user.pk}) | Q(**{f"{team_field}__in": team_ids(user)})
