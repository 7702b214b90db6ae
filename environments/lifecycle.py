"""An environment's lifecycle: which status may follow which, and the one function that moves it.

Every write of ``Environment.status`` goes through ``environment_transition`` (services, the rollout
and destroy jobs, hostname changes); a new environment starts ``pending`` (set when its row is made).

    pending ──▶ deploying ──▶ ready                the rollout job (deploying ──▶ failed when it fails)
    ready, failed, … ──▶ pending                    a new revision, a hostname change, a retry
    pending … failed ──▶ destroying ──▶ destroyed   the destroy (destroyed is final)
                             └──▶ failed ──▶ destroying   a destroy that failed, retried

Sleep and wake (``sleep/``) are rollouts of their own kind:

    ready, failed ──▶ sleeping ──▶ asleep ──▶ waking ──▶ ready      (either job ──▶ failed when it fails)
    asleep ──▶ pending                                             a new revision: its rollout wakes it
    sleeping ──▶ ready, failed; waking ──▶ asleep, failed          back, when the job could not be queued

A change is refused while it goes to sleep or wakes (the services say so); a destroy is not.

The table lists what the code does today, races included (a queued rollout that starts after an
earlier one ended, a rollout that fails while a destroy runs). What it refuses, all reachable
before only by racing a destroy: leaving ``destroyed``; leaving ``destroying`` other than for
destroyed or failed (a change, or a rollout queued or running when the destroy began); and
``destroyed`` other than at the end of a destroy.
"""

from __future__ import annotations

from collections.abc import Callable

from portal.audit.actor import Actor
from portal.jobs.reporting import JobReporter
from portal.status_machine import StatusMachine

from .models import Environment, EnvironmentRevision

PENDING, DEPLOYING, READY, FAILED = Environment.PENDING, Environment.DEPLOYING, Environment.READY, Environment.FAILED
DESTROYING, DESTROYED = Environment.DESTROYING, Environment.DESTROYED
SLEEPING, ASLEEP, WAKING = Environment.SLEEPING, Environment.ASLEEP, Environment.WAKING
# Every status a rollout can start from: the services refuse destroying/destroyed and sleeping/waking themselves.
LIVE = frozenset({PENDING, DEPLOYING, READY, FAILED, ASLEEP})
# Every status a destroy can start from.
NOT_DESTROYED = LIVE | {SLEEPING, WAKING}

ENVIRONMENT_STATUS = StatusMachine(
    model=Environment,
    action="environment.status_changed",
    message_chars=2000,
    sources={
        # A new revision (update versions, rollback, promote) or a hostname change from any live status:
        # a change while a rollout runs is allowed today (the newer revision's rollout owns the outcome);
        # a retry from failed.
        PENDING: LIVE,
        # The rollout job starts: from pending; deploying again when a killed worker's job is redelivered;
        # ready/failed when an earlier rollout of the same environment ended before this queued one began.
        DEPLOYING: LIVE,
        # The rollout job succeeds (only while its revision is still current): normally from deploying;
        # from pending/ready/failed when another rollout of the same revision (a hostname change) moved it.
        # Back from sleeping when the sleep job could not be queued (it never started).
        READY: LIVE | {WAKING, SLEEPING},
        # A rollout fails (from any live status, as above), a destroy fails (from destroying), or a sleep or
        # wake job fails.
        FAILED: LIVE | {DESTROYING, SLEEPING, WAKING},
        # A destroy (of anything not destroyed, again while one is starting), or the retry of a failed one.
        DESTROYING: NOT_DESTROYED | {DESTROYING},
        # The sleep job starts (from ready, from failed, or again when a killed worker's job is redelivered).
        SLEEPING: frozenset({READY, FAILED, SLEEPING}),
        # The sleep job ends; back from waking when the wake job could not be queued (it never started).
        ASLEEP: frozenset({SLEEPING, WAKING}),
        # The wake job starts (again when redelivered; from failed when a sleep or wake failed half-way).
        WAKING: frozenset({ASLEEP, WAKING, FAILED}),
        # The destroy job succeeds; from failed when a rollout running alongside failed meanwhile.
        DESTROYED: frozenset({DESTROYING, FAILED}),
    },
)


def environment_transition(environment: Environment, to: str, *, actor: Actor, message: str = "",
                           reporter: JobReporter | None = None, revision: EnvironmentRevision | None = None,
                           current_revision: EnvironmentRevision | None = None) -> str | None:
    """Move ``environment`` to status ``to`` (audited; logged to ``reporter`` inside a job) and return the
    status it left.

    ``revision``: only while it is still the environment's current revision (else nothing changes and
    None is returned: a newer revision's rollout owns the status). ``current_revision``: recorded in
    the same UPDATE. Raises portal.status_machine.IllegalTransition (a ValidationError) when the table
    does not allow the move; nothing is changed then.
    """
    return ENVIRONMENT_STATUS.transition(
        environment, to, actor=actor, message=message, reporter=reporter,
        when={"current_revision": revision} if revision is not None else None,
        fields={"current_revision": current_revision} if current_revision is not None else None,
    )


def failed_when_unqueued(environment: Environment, *, actor: Actor) -> Callable[[str], None]:
    """``job_create(on_unqueued=...)`` for a job the environment waits for (its rollout, its destroy): when
    the job's task cannot be queued the environment is failed with the reason, so it can be retried,
    instead of staying pending or destroying with nothing to move it. Call it after the caller has set the
    status the job waits in: an environment that has left that status meanwhile is left alone."""
    return ENVIRONMENT_STATUS.unqueued(environment, waiting=environment.status, to=Environment.FAILED, actor=actor)
