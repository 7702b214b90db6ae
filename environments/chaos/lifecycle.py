"""A chaos run's lifecycle: which status may follow which, and the one function that moves it.

    queued ──▶ running ──▶ recovered | unrecovered     the run job measured the fault
       │          ├──▶ skipped                          not injected (steady state, window, blast radius)
       │          ├──▶ stopped                          the kill switch (faults undone)
       │          ├──▶ interrupted                      the worker died (the periodic task undid the faults)
       │          └──▶ failed                           an error (faults undone)
       └──▶ skipped | stopped | failed                  before it started

Every end status is final; ``running ──▶ running`` is a redelivered job re-entering its run.
"""

from __future__ import annotations

from portal.audit.actor import Actor
from portal.jobs.reporting import JobReporter
from portal.status_machine import StatusMachine

from .models import ChaosRun

QUEUED, RUNNING = ChaosRun.QUEUED, ChaosRun.RUNNING
ACTIVE = frozenset({QUEUED, RUNNING})

CHAOS_RUN_STATUS = StatusMachine(
    model=ChaosRun,
    action="chaos_run.status_changed",
    message_chars=2000,
    sources={
        RUNNING: ACTIVE,
        ChaosRun.RECOVERED: frozenset({RUNNING}),
        ChaosRun.UNRECOVERED: frozenset({RUNNING}),
        ChaosRun.SKIPPED: ACTIVE,
        ChaosRun.STOPPED: ACTIVE,
        ChaosRun.INTERRUPTED: frozenset({RUNNING}),
        ChaosRun.FAILED: ACTIVE,
    },
)


def chaos_run_transition(run: ChaosRun, to: str, *, actor: Actor, message: str = "",
                         reporter: JobReporter | None = None, fields: dict | None = None) -> str | None:
    """Move ``run`` to status ``to`` (audited; logged to ``reporter`` inside a job) with ``fields`` in the
    same UPDATE, and return the status it left. Raises portal.status_machine.IllegalTransition (a
    ValidationError) when the table does not allow the move; nothing is changed then."""
    return CHAOS_RUN_STATUS.transition(run, to, actor=actor, message=message, reporter=reporter, fields=fields)
