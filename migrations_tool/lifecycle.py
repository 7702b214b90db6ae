"""A data copy's lifecycle: which state may follow which, and the one function that moves it.

Every write of ``DataCopy.state`` after creation (``queued``) goes through ``data_copy_transition``:
the copy job (running, then verified or failed), the undo service (undoing) and the undo job
(undone, or failed again: the snapshot is intact and the undo can be retried). The explaining
message is the copy's ``error``.

    queued ──▶ running ──▶ verified ──undo──▶ undoing ──▶ undone
                  └──▶ failed ◀──────────────────┘ (an undo that failed)
                          └──undo──▶ undoing
    queued ──▶ failed, undoing ──▶ verified/failed (where it was): the job could not be queued
"""

from __future__ import annotations

from portal.audit.actor import Actor
from portal.jobs.reporting import JobReporter
from portal.status_machine import StatusMachine

from .models import DataCopy

DATA_COPY_STATE = StatusMachine(
    model=DataCopy,
    action="data_copy.status_changed",
    message_chars=5000,
    status_field="state",
    message_field="error",
    sources={
        # The copy job starts; running again when a killed worker's job is redelivered.
        DataCopy.RUNNING: frozenset({DataCopy.QUEUED, DataCopy.RUNNING}),
        # The copy verified; back from undoing when the undo job could not be queued (it never started).
        DataCopy.VERIFIED: frozenset({DataCopy.RUNNING, DataCopy.UNDOING}),
        # The copy failed, or its undo did (back to an undoable state), or its job could not be queued.
        DataCopy.FAILED: frozenset({DataCopy.QUEUED, DataCopy.RUNNING, DataCopy.UNDOING}),
        # Only a finished copy is undone (the service also checks it is the target's last one).
        DataCopy.UNDOING: frozenset({DataCopy.VERIFIED, DataCopy.FAILED}),
        # The undo job restored every snapshot.
        DataCopy.UNDONE: frozenset({DataCopy.UNDOING}),
    },
)


def data_copy_transition(copy: DataCopy, to: str, *, actor: Actor, error: str | None = None,
                         reporter: JobReporter | None = None, **fields: object) -> str | None:
    """Move ``copy`` to state ``to`` (audited; logged to ``reporter`` inside a job), writing ``error``
    (redacted; None keeps the stored one) and ``fields`` in the same UPDATE. Returns the state it left.
    Raises portal.status_machine.IllegalTransition (a ValidationError), changing nothing, when the
    table does not allow the move."""
    return DATA_COPY_STATE.transition(copy, to, actor=actor, message=error, reporter=reporter, fields=fields)
