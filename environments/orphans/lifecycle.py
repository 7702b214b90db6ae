"""An orphan's lifecycle: which state may follow which, and the one function that moves it.

    found ──▶ removing ──▶ removed          deleted (or already gone when the removal looked)
      │          ├──▶ failed ──▶ removing   the deletion raised; an admin may try again
      │          └──▶ gone                  no longer an orphan when re-checked (e.g. an environment took it)
      └──▶ gone                             a sweep no longer finds it
    failed ──▶ gone

``removed`` and ``gone`` are final: a thing found again later is a new row.
"""

from __future__ import annotations

from portal.audit.actor import Actor
from portal.jobs.reporting import JobReporter
from portal.status_machine import StatusMachine

from .models import Orphan

OPEN = frozenset({Orphan.FOUND, Orphan.REMOVING})

ORPHAN_STATE = StatusMachine(
    model=Orphan,
    action="orphan.state_changed",
    message_chars=2000,
    status_field="state",
    message_field="error",
    sources={
        Orphan.REMOVING: frozenset({Orphan.FOUND, Orphan.FAILED, Orphan.REMOVING}),
        Orphan.REMOVED: frozenset({Orphan.REMOVING}),
        Orphan.FAILED: frozenset({Orphan.REMOVING}),
        Orphan.GONE: frozenset({Orphan.FOUND, Orphan.REMOVING, Orphan.FAILED}),
    },
)


def orphan_transition(orphan: Orphan, to: str, *, actor: Actor, message: str = "",
                      reporter: JobReporter | None = None, fields: dict | None = None) -> str | None:
    """Move ``orphan`` to state ``to`` (audited; logged to ``reporter`` inside a job) with ``fields`` in the
    same UPDATE; returns the state it left. Raises IllegalTransition (a ValidationError), changing
    nothing, when the table does not allow the move."""
    return ORPHAN_STATE.transition(orphan, to, actor=actor, message=message, reporter=reporter, fields=fields)
