"""Writing the audit trail. Services call these explicitly; nothing is recorded from signals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from portal.redaction import redact, redact_value

from .actor import Actor
from .models import AuditEvent


def _plain(details: dict[str, Any] | None) -> dict[str, Any]:
    # Round-trip through Django's encoder so dates, UUIDs and decimals are stored as JSON; the trail
    # is append-only, so a secret that slipped into the details could never be removed: mask it now.
    return redact_value(json.loads(json.dumps(details or {}, cls=DjangoJSONEncoder)))


def _object_facts(obj: Any) -> dict[str, str]:
    if obj is None:
        return {}
    meta = getattr(obj, "_meta", None)
    team = getattr(obj, "team", None)
    return {
        "object_type": meta.label_lower if meta else type(obj).__name__.lower(),
        "object_id": str(obj.pk) if getattr(obj, "pk", None) is not None else "",
        "object_repr": str(obj)[:200],
        "team_slug": getattr(team, "slug", "") or "",
    }


def audit_record(*, actor: Actor, action: str, obj: Any = None, object_type: str = "", object_id: str = "",
                 object_repr: str = "", team_slug: str = "", details: dict[str, Any] | None = None,
                 outcome: str = AuditEvent.SUCCESS, error: str = "") -> AuditEvent:
    """Append one audit event. ``obj`` (a model instance) fills the object fields when given."""
    facts = {"object_type": object_type, "object_id": object_id, "object_repr": object_repr, "team_slug": team_slug}
    facts.update({k: v for k, v in _object_facts(obj).items() if v and not facts.get(k)})
    return AuditEvent.objects.create(
        actor_id=actor.user_id, actor_name=actor.name, actor_kind=actor.kind, action=action,
        details=_plain(details), outcome=outcome, error=redact(error)[:5000],
        request_id=actor.request_id or "", source_ip=actor.source_ip, **facts,
    )


def changes_between(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """``{field: {"before": …, "after": …}}`` for the fields that differ (a missing side is None)."""
    before, after = before or {}, after or {}
    return {key: {"before": before.get(key), "after": after.get(key)}
            for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)}


def audit_model_change(*, actor: Actor, action: str, obj: Any, before: dict[str, Any] | None,
                       after: dict[str, Any] | None, via: str, team_slug: str = "", note: str = "") -> AuditEvent:
    """Audit a change made outside the services (the Django admin), in the services' shape."""
    details: dict[str, Any] = {"changes": changes_between(before, after), "via": via}
    if note:
        details["note"] = note
    return audit_record(actor=actor, action=action, obj=obj, team_slug=team_slug, details=details)


@dataclass
class AuditScope:
    """What an ``audited`` block learns while it runs: the object it acted on and the details."""

    obj: Any = None
    details: dict[str, Any] = field(default_factory=dict)
    team_slug: str = ""


@contextmanager
def audited(
    *, actor: Actor, action: str, obj: Any = None, details: dict[str, Any] | None = None
) -> Iterator[AuditScope]:
    """Record ``action`` as a success when the block completes, or a failure with its error.

    Wrap the block *around* any ``transaction.atomic`` it contains: the failure event is written
    after the rollback, so a failed action is still on the trail. Exceptions propagate.
    """
    scope = AuditScope(obj=obj, details=dict(details or {}))
    try:
        yield scope
    except Exception as exc:
        audit_record(actor=actor, action=action, obj=scope.obj, team_slug=scope.team_slug, details=scope.details,
                     outcome=AuditEvent.FAILURE, error=f"{type(exc).__name__}: {exc}")
        raise
    audit_record(actor=actor, action=action, obj=scope.obj, team_slug=scope.team_slug, details=scope.details)
