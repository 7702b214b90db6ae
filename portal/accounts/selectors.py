"""Reading users and teams for the people pages and API, with the Platform-admin check in one place."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet

from . import rules
from .filters import TeamFilter, UserFilter
from .models import Team
from .services import MANAGE_PEOPLE


def user_list(*, by: Any, filters: dict[str, Any] | None = None) -> tuple[QuerySet, UserFilter]:
    """Users (roles and teams prefetched), filtered; raises PermissionDenied for non-admins."""
    rules.require_platform_admin(by, MANAGE_PEOPLE)
    queryset = get_user_model().objects.prefetch_related("groups", "teams").order_by("username")
    filterset = UserFilter(filters or {}, queryset=queryset)
    return filterset.qs.distinct(), filterset


def team_list(*, by: Any, filters: dict[str, Any] | None = None) -> tuple[QuerySet[Team], TeamFilter]:
    """Teams with their member counts, filtered; raises PermissionDenied for non-admins."""
    rules.require_platform_admin(by, MANAGE_PEOPLE)
    queryset = Team.objects.prefetch_related("members").annotate(
        member_count=Count("members", distinct=True)).order_by("name")
    filterset = TeamFilter(filters or {}, queryset=queryset)
    return filterset.qs.distinct(), filterset


def user_suggestions(*, limit: int = 500) -> list[str]:
    """Usernames for completion fields (the audit filters); the caller checks who may see them."""
    return list(get_user_model().objects.order_by("username").values_list("username", flat=True)[:limit])


def team_suggestions(*, limit: int = 500) -> list[str]:
    return list(Team.objects.order_by("slug").values_list("slug", flat=True)[:limit])


PEOPLE_LISTS = {"users": user_list, "teams": team_list}
