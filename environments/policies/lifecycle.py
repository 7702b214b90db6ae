"""An environment request's lifecycle: which state may follow which, and the one function that moves it.

    pending ──▶ approved      a Platform admin approved: the environment was created (linked)
       ├──────▶ refused       a Platform admin refused, with a reason
       └──────▶ cancelled     the requester withdrew it

Every end state is final: a request decided twice (two admins, a double click) is refused the second time.
"""

from __future__ import annotations

from typing import Any

from portal.audit.actor import Actor
from portal.status_machine import StatusMachine

from .models import EnvironmentRequest

PENDING = frozenset({EnvironmentRequest.PENDING})

ENVIRONMENT_REQUEST_STATE = StatusMachine(
    model=EnvironmentRequest,
    action="environment_request.state_changed",
    message_chars=500,
    status_field="state",
    message_field="decision_reason",
    sources={
        EnvironmentRequest.APPROVED: PENDING,
        EnvironmentRequest.REFUSED: PENDING,
        EnvironmentRequest.CANCELLED: PENDING,
    },
)


def environment_request_transition(request: EnvironmentRequest, to: str, *, actor: Actor, reason: str = "",
                                   fields: dict[str, Any] | None = None) -> str | None:
    """Move ``request`` to ``to`` with ``reason`` and ``fields`` in one UPDATE on the locked row; returns the
    state it left. Raises IllegalTransition (a ValidationError) when it is no longer pending."""
    return ENVIRONMENT_REQUEST_STATE.transition(request, to, actor=actor, message=reason, fields=fields)
