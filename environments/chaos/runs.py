"""Starting and stopping chaos runs, and the kill switches (per environment and global).

A kill switch stops every active run in its scope at once, in the request: each run is moved to
STOPPED first (its worker notices and ends without injecting or undoing again), then every undo of it
is applied synchronously, so when the switch answers, every fault in scope is undone (or its failure
recorded for the periodic task to retry).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from portal.accounts import authz
from portal.audit.actor import Actor
from portal.audit.services import audited
from portal.concurrency import refused_when_taken
from portal.jobs.services import job_create
from portal.status_machine import IllegalTransition

from ..models import Environment
from .gate import chaos_refusal
from .lifecycle import ACTIVE, CHAOS_RUN_STATUS, chaos_run_transition
from .models import ChaosExperiment, ChaosKillSwitch, ChaosRun, ChaosSettings
from .tasks import chaos_run as chaos_run_task
from .undo import undos_apply_pending

JOB_KIND = "chaos"
RUN_REFUSED = ("You can run chaos experiments only in environments you may change, and in production ones "
               "only as a Platform admin.")


def _already_running(environment: Environment) -> ValidationError | None:
    active = ChaosRun.objects.filter(environment=environment, status__in=ACTIVE).select_related("experiment").first()
    if active is None:
        return None
    return ValidationError(f"An experiment is already running in {environment.name} ({active.experiment.name}); "
                           "wait for it or stop it.")


def chaos_run_start(*, actor: Actor, user: Any | None, experiment: ChaosExperiment,
                    trigger: str = "manual") -> ChaosRun:
    """Queue a run of ``experiment`` (its job starts once the transaction commits). ``user=None`` is the
    schedule (``Actor.system("chaos-schedule")``). Raises PermissionDenied, or ValidationError when the
    gate refuses (opt-in, production approval, kill switches, not ready) or a run is already active in
    the environment — decided by the database, so two concurrent starts cannot both pass."""
    environment = experiment.environment
    with audited(actor=actor, action="chaos.run_started", obj=experiment,
                 details={"environment": environment.name, "fault": experiment.fault, "trigger": trigger}) as scope:
        scope.team_slug = environment.team.slug
        if user is not None and not authz.chaos_can(user, authz.CHANGE, environment):
            raise PermissionDenied(RUN_REFUSED)
        refusal = chaos_refusal(environment)
        if refusal:
            raise ValidationError(refusal)
        busy = _already_running(environment)
        if busy is not None:
            raise busy
        settings = ChaosSettings.objects.get(environment=environment)
        with transaction.atomic():
            with refused_when_taken(lambda: _already_running(environment)):
                run = ChaosRun.objects.create(
                    experiment=experiment, environment=environment, trigger=trigger, fault=experiment.fault,
                    slo_seconds=settings.slo_seconds, started_by_id=user.pk if user is not None else None,
                    target={"component": experiment.target} if experiment.target else {})
            run.job = job_create(actor=actor, kind=JOB_KIND, title=f"Chaos {experiment.name} in {environment.name}",
                                 task=chaos_run_task, target=environment, team=environment.team,
                                 on_unqueued=CHAOS_RUN_STATUS.unqueued(run, waiting=ChaosRun.QUEUED,
                                                                       to=ChaosRun.FAILED, actor=actor,
                                                                       stamp="finished_at"))
            ChaosRun.objects.filter(pk=run.pk).update(job=run.job)
        scope.obj = run
        scope.details.update(run=run.pk, job=str(run.job.pk))
    return run


def runs_stop(runs: list[ChaosRun], *, actor: Actor, message: str) -> list[int]:
    """Move each still-active run to STOPPED, then apply all its undos now. Returns the runs stopped."""
    stopped = []
    for run in runs:
        try:
            left = chaos_run_transition(run, ChaosRun.STOPPED, actor=actor, message=message,
                                        fields={"finished_at": timezone.now()})
        except IllegalTransition:
            left = None  # it ended meanwhile (its own job undid its faults)
        if left is not None:
            stopped.append(run.pk)
    for run in runs:
        # Also for a run that ended meanwhile: an undo it left behind is applied now rather than later.
        undos_apply_pending(run.pk, actor=actor)
    return stopped


def chaos_run_stop(*, actor: Actor, user: Any, run: ChaosRun) -> ChaosRun:
    """Stop one run and undo its faults now. Raises PermissionDenied, ValidationError when it ended."""
    environment = run.environment
    with audited(actor=actor, action="chaos.run_stopped", obj=run, details={"environment": environment.name}) as scope:
        scope.team_slug = environment.team.slug
        if not authz.chaos_can(user, authz.CHANGE, environment):
            raise PermissionDenied(RUN_REFUSED)
        run.refresh_from_db()
        if run.status not in ACTIVE:
            raise ValidationError(f"This run already ended ({run.get_status_display().lower()}).")
        runs_stop([run], actor=actor, message=f"stopped by {actor.name}")
        run.refresh_from_db()
    return run


def _stop_in_scope(runs, *, actor: Actor, message: str, scope) -> None:
    started = time.monotonic()
    stopped = runs_stop(list(runs.select_related("environment__cluster", "environment__team")), actor=actor,
                        message=message)
    scope.details.update(runs_stopped=stopped, seconds=round(time.monotonic() - started, 3))


def chaos_kill_switch_environment(*, actor: Actor, user: Any, environment: Environment, engage: bool) -> ChaosSettings:
    """Engage (stop every active run of the environment, undoing its faults now) or release the
    environment's kill switch. Raises PermissionDenied. Engaging an engaged switch stops again (harmless)."""
    action = "chaos.kill_switch_engaged" if engage else "chaos.kill_switch_released"
    with audited(actor=actor, action=action, obj=environment, details={"scope": "environment"}) as scope:
        scope.team_slug = environment.team.slug
        if not authz.chaos_can(user, authz.ENGAGE if engage else authz.RELEASE, environment):
            raise PermissionDenied("You can use the kill switch only of environments you may change, and of "
                                   "production ones only as a Platform admin.")
        settings, _ = ChaosSettings.objects.get_or_create(environment=environment)
        settings.halted = engage
        settings.halted_by_id, settings.halted_at = (user.pk, timezone.now()) if engage else (None, None)
        settings.save(update_fields=["halted", "halted_by", "halted_at", "updated_at"])
        if engage:
            _stop_in_scope(ChaosRun.objects.filter(environment=environment, status__in=ACTIVE), actor=actor,
                           message=f"kill switch of {environment.name} engaged by {actor.name}", scope=scope)
    return settings


def chaos_kill_switch_global(*, actor: Actor, user: Any, engage: bool, reason: str = "") -> ChaosKillSwitch:
    """Engage (Platform admins and Managers: stop every active run everywhere, undoing its faults now) or
    release (Platform admins) the global kill switch. Raises PermissionDenied."""
    action = "chaos.kill_switch_engaged" if engage else "chaos.kill_switch_released"
    with audited(actor=actor, action=action, details={"scope": "global", "reason": reason}) as scope:
        if not authz.chaos_global_can(user, authz.ENGAGE if engage else authz.RELEASE):
            raise PermissionDenied("Only Platform admins and Managers can engage the global kill switch." if engage
                                   else "Only Platform admins can release the global kill switch.")
        switch, _ = ChaosKillSwitch.objects.get_or_create(pk=1)
        switch.engaged, switch.reason = engage, reason[:300]
        switch.engaged_by_id, switch.engaged_at = (user.pk, timezone.now()) if engage else (None, None)
        switch.save()
        scope.obj = switch
        if engage:
            _stop_in_scope(ChaosRun.objects.filter(status__in=ACTIVE), actor=actor,
                           message=f"global kill switch engaged by {actor.name}", scope=scope)
    return switch
