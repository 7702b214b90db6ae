"""What the audit filters offer: the actions, object types and system actors found in the trail.

Read from the data (every action any version of Slipway recorded, including ones no code writes any
more), through the ``(column, -timestamp)`` indexes, and cached: the filter form is built on every
audit page and API call.
"""

from __future__ import annotations

from django.core.cache import cache

from .models import AuditEvent

CACHE_SECONDS = 60

# Routine events a reader usually skips: sign-ins and -outs, periodic checks, log views. Failures of
# these stay visible with the noise hidden (a failed health check is news); failed sign-ins always do.
NOISY_ACTIONS = frozenset({"user.login", "user.logout", "cluster.health_check", "environment.drift_check",
                           "cluster.terraform_drift_check"})
NOISY_PREFIXES = ("environment.logs.",)


def _distinct(field: str, **filters: str) -> list[str]:
    # Keyed by the newest event's id (one primary-key lookup): a new kind of event shows at once,
    # while the distinct scan runs at most once per new event and minute.
    newest = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    key = f"slipway.audit.distinct.{field}.{'.'.join(f'{k}={v}' for k, v in sorted(filters.items()))}.{newest}"
    values = cache.get(key)
    if values is None:
        queryset = AuditEvent.objects.filter(**filters).exclude(**{field: ""}).order_by(field)
        values = list(queryset.values_list(field, flat=True).distinct())
        cache.set(key, values, CACHE_SECONDS)
    return values


def action_choices(current: str = "") -> list:
    """Grouped select choices: per kind of object, "<kind>.* (all)" (a prefix) then each action."""
    actions = _distinct("action")
    if current and current not in actions and not current.endswith("."):
        actions = sorted([*actions, current])
    groups: dict[str, list[tuple[str, str]]] = {}
    for action in actions:
        kind = action.split(".", 1)[0]
        groups.setdefault(kind, [(f"{kind}.", f"{kind}.* (all)")]).append((action, action))
    return [("", "Any action"), *groups.items()]


def object_type_choices(current: str = "") -> list[tuple[str, str]]:
    types = _distinct("object_type")
    if current and current not in types:
        types = sorted([*types, current])
    return [("", "Any object type"), *((t, t) for t in types)]


def system_actor_names() -> list[str]:
    return _distinct("actor_name", actor_kind=AuditEvent.SYSTEM)
