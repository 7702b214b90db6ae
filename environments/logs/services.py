"""Use cases around logs: opening a live stream and searching history (audited for production)."""

from __future__ import annotations

from typing import Any

from portal.accounts.rules import PRODUCTION_STAGES
from portal.audit.actor import Actor
from portal.audit.services import audit_record

from ..models import Environment


def environment_logs_opened(*, actor: Actor, environment: Environment, what: str, details: dict[str, Any]) -> bool:
    """Record that ``actor`` opened ``environment``'s logs (``what``: "live" or "history").

    Only production is audited: logs there may hold customer data, and reading them is the
    access managers ask about. Returns whether an event was written.
    """
    if environment.stage not in PRODUCTION_STAGES:
        return False
    audit_record(actor=actor, action=f"environment.logs.{what}", obj=environment, details=details)
    return True
