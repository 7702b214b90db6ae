"""Sleep and wake use cases: one at a time per environment, each audited, each queuing its job.

"One at a time" is enforced, not hoped for: the environment's row is locked (select_for_update) while the
status is checked and moved (ready/failed ──▶ sleeping, asleep ──▶ waking), so of two requests at once the
second sees the first's status and is refused (sleep) or gets nothing to do (wake).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from portal.accounts import authz
from portal.audit.actor import Actor
from portal.audit.services import audited
from portal.jobs.services import job_create

from ..lifecycle import ENVIRONMENT_STATUS, environment_transition
from ..models import Environment, Rollout
from .models import SleepState
from .selectors import has_saved_state, sleep_refusal
from .tasks import sleep as sleep_task
from .tasks import wake as wake_task

REASONS = ("manual", "schedule", "idle", "request", "api")
CHANGE_REFUSED = ("You can put to sleep and wake environments of your own teams only, and production ones only "
                  "as a Platform admin.")


class SleepRefused(ValidationError):
    """The environment cannot change now (a rollout, a chaos run, another sleep or wake): a conflict,
    which the API answers with 409."""


def _check(user: Any, environment: Environment, reason: str) -> None:
    if user is not None and not authz.sleep_can(user, authz.CHANGE, environment):
        raise PermissionDenied(CHANGE_REFUSED)
    if reason not in REASONS:
        raise ValidationError({"reason": [f"Use one of: {', '.join(REASONS)}."]})


def _locked(environment: Environment) -> Environment:
    # of=self: the row lock must not reach the (nullable) current revision join.
    return (Environment.objects.select_for_update(of=("self",)).select_related("current_revision", "team")
            .get(pk=environment.pk))


def _start(*, actor: Actor, environment: Environment, kind: str, task: Any, left: str, state: SleepState) -> Rollout:
    """Queue the job; ``left`` and ``state`` are the status and sleep state before the request changed them."""
    verb = "Sleep" if kind == "sleep" else "Wake"
    waiting = Environment.SLEEPING if kind == "sleep" else Environment.WAKING
    # Not queued: nothing happened, so the environment goes back to where it was (ready, asleep, failed)
    # with the reason, and its sleep state forgets the request (a wake asked for is no longer under way).
    back = ENVIRONMENT_STATUS.unqueued(environment, waiting=waiting, to=left, actor=actor)

    def moved_back(reason: str) -> None:
        back(reason)
        SleepState.objects.filter(pk=state.pk).update(reason=state.reason, wake_requested_at=state.wake_requested_at)

    job = job_create(actor=actor, kind=kind, title=f"{verb} {environment.name}", task=task, target=environment,
                     team=environment.team, on_unqueued=moved_back)
    return Rollout.objects.create(environment=environment, revision=environment.current_revision, job=job)


def environment_sleep(*, actor: Actor, user: Any | None, environment: Environment, reason: str = "manual") -> Rollout:
    """Put ``environment`` to sleep: ready/failed ──▶ sleeping, and queue the sleep job (a Rollout of the
    current revision, job kind "sleep"). ``user=None`` is the system (a schedule, idle sleep).

    Raises PermissionDenied, SleepRefused (a ValidationError: not ready, a rollout or chaos run in progress,
    already asleep — ``selectors.sleep_refusal``'s sentence) or ValidationError (an unknown reason).
    Audited "environment.sleep", refusals included.
    """
    with audited(actor=actor, action="environment.sleep", obj=environment, details={"reason": reason}) as scope:
        scope.team_slug = environment.team.slug
        _check(user, environment, reason)
        with transaction.atomic():
            locked = _locked(environment)
            refusal = sleep_refusal(locked)
            if refusal:
                raise SleepRefused(refusal)
            state, _ = SleepState.objects.get_or_create(environment=locked)
            SleepState.objects.filter(pk=state.pk).update(reason=reason)
            left = environment_transition(locked, Environment.SLEEPING, actor=actor)
            rollout = _start(actor=actor, environment=locked, kind="sleep", task=sleep_task, left=left, state=state)
        scope.details.update(job=str(rollout.job.pk), revision=locked.current_revision.number)
    return rollout


def _wakeable(environment: Environment) -> bool:
    if environment.status == Environment.ASLEEP:
        return True
    # A sleep or wake that failed half-way leaves saved state: waking restores it (the status table allows it).
    return environment.status == Environment.FAILED and has_saved_state(environment)


def environment_wake(*, actor: Actor, user: Any | None, environment: Environment,
                     reason: str = "manual") -> Rollout | None:
    """Wake ``environment``: asleep ──▶ waking, and queue the wake job (job kind "wake"). Also wakes a
    failed environment whose sleep or wake stopped half-way (its saved state is restored).

    Returns None when there is nothing to wake — already awake, or already waking (many requests, one
    wake: see ``selectors.wake_in_progress`` for the job under way). ``user=None`` is the system (the first
    request to its hostname, a schedule). Raises PermissionDenied or ValidationError (an unknown reason).
    Audited "environment.wake" (details.job empty when there was nothing to do).
    """
    with audited(actor=actor, action="environment.wake", obj=environment, details={"reason": reason}) as scope:
        scope.team_slug = environment.team.slug
        _check(user, environment, reason)
        with transaction.atomic():
            locked = _locked(environment)
            if not _wakeable(locked):
                scope.details["nothing_to_do"] = locked.status
                return None
            state, _ = SleepState.objects.get_or_create(environment=locked)
            # The first request's time counts (a request before this one may have set it already).
            SleepState.objects.filter(pk=state.pk).update(
                reason=reason, wake_requested_at=state.wake_requested_at or timezone.now())
            left = environment_transition(locked, Environment.WAKING, actor=actor)
            rollout = _start(actor=actor, environment=locked, kind="wake", task=wake_task, left=left, state=state)
        scope.details.update(job=str(rollout.job.pk))
    return rollout
