"""The people lists' CSV columns, shared by the pages' and the API's exports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _iso(value: Any) -> str:
    return value.isoformat() if value else ""


TABLES: dict[str, tuple[list[str], Callable[[Any], list[Any]]]] = {
    "users": (
        ["username", "email", "first_name", "last_name", "active", "roles", "teams", "last_login", "date_joined"],
        lambda u: [u.username, u.email, u.first_name, u.last_name, u.is_active,
                   "; ".join(sorted(g.name for g in u.groups.all())), " ".join(sorted(t.slug for t in u.teams.all())),
                   _iso(u.last_login), _iso(u.date_joined)]),
    "teams": (
        ["slug", "name", "members", "created_at"],
        lambda t: [t.slug, t.name, " ".join(sorted(m.username for m in t.members.all())), _iso(t.created_at)]),
}
