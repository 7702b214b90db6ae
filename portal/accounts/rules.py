"""Object-level authorization: the one place that decides who may see or change a given object.

Objects are judged by three attributes when they have them: an owner (``owner_id`` or
``started_by_id``), a team (``team_id``) and a stage (``stage``; ``prod`` is production).
Managers read everything and change nothing; Platform admins do everything; Developers and QA
see and change what they own or what their teams own, never production.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied

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


def can_view_audit(user: Any) -> bool:
    return is_platform_admin(user) or is_manager(user)


def _owner_id(obj: Any) -> int | None:
    return getattr(obj, "owner_id", None) or getattr(obj, "started_by_id", None)


def can_view(user: Any, obj: Any) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if is_platform_admin(user) or is_manager(user):
        return True
    if _owner_id(obj) == user.pk:
        return True
    team_id = getattr(obj, "team_id", None)
    return team_id is not None and team_id in team_ids(user)


def can_change(user: Any, obj: Any) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if is_platform_admin(user):
        return True
    if is_manager(user) or not is_self_service(user):
        return False
    if getattr(obj, "stage", None) in PRODUCTION_STAGES:
        return False
    return can_view(user, obj)


def visible_filter(user: Any, *, owner_field: str = "owner", team_field: str = "team"):
    """A Q object selecting the rows ``user`` may see, for selectors (None means all rows)."""
    from django.db.models import Q

    if is_platform_admin(user) or is_manager(user):
        return None
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    return Q(**{owner_field: user.pk}) | Q(**{f"{team_field}__in": team_ids(user)})
