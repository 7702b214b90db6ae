"""The chaos run job: check the steady state, pick the targets within the blast radius, record the
undo BEFORE injecting, inject, measure the recovery from watches, undo on time, record the results.

Idempotent: a redelivered job (its worker died) finds its run RUNNING, applies every pending undo and
marks it INTERRUPTED without injecting again; a run that already ended is left alone. A kill switch
moves the run to STOPPED and undoes its faults itself; the job notices through ``Ticker`` and ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from clusters.kube.chaos_faults import (
    BAD_IMAGE_TAG,
    network_cut,
    node_fail,
    node_failure_hold,
    pods_delete,
    statefulset_scale,
)
from clusters.kube.client import api_client
from clusters.kube.owner_labels import ownership_selector
from clusters.kube.steady_state import Recovery, RecoveryWatch, steady_state
from portal.audit.actor import Actor
from portal.audit.services import audit_record
from portal.jobs.models import Job
from portal.jobs.reporting import JobReporter

from ..services import environment_chaos_image
from .gate import chaos_refusal
from .lifecycle import chaos_run_transition
from .models import ChaosExperiment, ChaosRun, ChaosUndo
from .run_timeline import Timeline
from .targets import Plan, plan_for
from .undo import undo_apply, undo_perform, undos_apply_pending

FINAL = frozenset(s for s, _ in ChaosRun.STATUSES) - ChaosRun.ACTIVE
# How long the steady state must hold, with no change seen, before a recovery counts (it delays the
# answer, never the recovered_at recorded).
SETTLE_SECONDS = 3.0


class Ticker:
    """``wait_recovered``'s ``stop``: beats the heartbeat about every second, applies each undo when it
    falls due, and answers True once the run is no longer RUNNING (a kill switch stopped it)."""

    def __init__(self, run: ChaosRun, undos: list[ChaosUndo], *, actor: Actor, timeline: Timeline,
                 progress, deadline: float, hold: Callable[[], None] | None = None) -> None:
        self.run, self.undos, self.actor, self.timeline = run, undos, actor, timeline
        # Called about every second while the fault is in and not yet undone (a node failure keeps its node down).
        self.hold = hold
        self.progress, self.deadline, self.started = progress, deadline, time.monotonic()
        self.stopped = False
        self.undone_at: datetime | None = None
        self._last_beat = 0.0

    def __call__(self) -> bool:
        now = time.monotonic()
        if now - self._last_beat >= 1.0:
            self._last_beat = now
            beat = ChaosRun.objects.filter(pk=self.run.pk, status=ChaosRun.RUNNING).update(heartbeat_at=timezone.now())
            self.stopped = self.stopped or beat == 0
            self.timeline.flush()
            elapsed = (now - self.started) / max(self.deadline - self.started, 1.0)
            self.progress(30 + int(60 * min(1.0, elapsed)), "measuring the recovery")
            if self.hold is not None and not self.stopped and any(u.done_at is None for u in self.undos):
                self.hold()
        if not self.stopped:
            self.undo_due()
        return self.stopped

    def undo_due(self, *, force: bool = False) -> None:
        """Apply every undo that is due (all of them when ``force``); record when the last one was done."""
        for undo in self.undos:
            if undo.done_at is not None or (not force and undo.due_at > timezone.now()):
                continue
            applied = undo_apply(undo, actor=self.actor)
            undo.refresh_from_db()
            if undo.done_at is None:
                self.timeline.add("undo-failed", f"{undo.get_action_display()} failed ({undo.error}); "
                                                 "the periodic task retries it")
                continue
            who = "" if applied else " (by another process)"
            self.timeline.add("undo", f"{undo.get_action_display()} done{who}", at=undo.done_at)
            self.undone_at = max(self.undone_at or undo.done_at, undo.done_at)


def _hold_node(api, node: str, timeline: Timeline) -> None:
    if node_failure_hold(api, node):
        timeline.add("fault", f"node {node} reported Ready during its failure; failed again")


def _undos_for(run: ChaosRun, plan: Plan, experiment: ChaosExperiment, due_at: datetime) -> list[ChaosUndo]:
    """The undo of a temporary fault, written before it is injected (none for pod kills)."""
    namespace, fault = run.environment.namespace, experiment.fault
    specs = {
        ChaosExperiment.NODE_FAILURE: (ChaosUndo.RESTORE_NODE, {"node": plan.node}),
        ChaosExperiment.BACKING_SCALE_ZERO: (ChaosUndo.SCALE, {"namespace": namespace, "kind": "StatefulSet",
                                                               "name": plan.statefulset, "replicas": plan.replicas}),
        ChaosExperiment.NETWORK_CUT: (ChaosUndo.DELETE_NETWORK_POLICY, {"namespace": namespace, "name": plan.policy}),
        ChaosExperiment.BAD_IMAGE: (ChaosUndo.ROLLBACK, {"environment": run.environment_id,
                                                         "to_revision": run.revision_number}),
    }
    if fault not in specs:
        return []
    action, spec = specs[fault]
    return [ChaosUndo.objects.create(run=run, action=action, spec=spec, due_at=due_at)]


def _inject(api, run: ChaosRun, plan: Plan, *, actor: Actor) -> str:
    """Inject the planned fault (each call idempotent); a line for the timeline."""
    namespace, fault = run.environment.namespace, run.fault
    if fault in (ChaosExperiment.POD_KILL, ChaosExperiment.POD_KILL_PERCENT, ChaosExperiment.POD_KILL_ALL):
        deleted = pods_delete(api, namespace, plan.pods)
        return f"killed {len(deleted)} pod(s) of {plan.component}: {', '.join(deleted) or 'none left'}"
    if fault == ChaosExperiment.NODE_FAILURE:
        node_fail(api, plan.node)
        return f"node {plan.node} failed (NotReady), hosting {', '.join(plan.pods)}"
    if fault == ChaosExperiment.BACKING_SCALE_ZERO:
        previous = statefulset_scale(api, namespace, plan.statefulset, 0)
        return f"StatefulSet {plan.statefulset} scaled from {previous} to 0"
    if fault == ChaosExperiment.NETWORK_CUT:
        network_cut(api, namespace, name=plan.policy, pod_selector=plan.pod_selector)
        return f"NetworkPolicy {plan.policy} cuts {plan.component} off"
    rollout = environment_chaos_image(actor=actor, environment=run.environment, component=plan.component,
                                      tag=BAD_IMAGE_TAG)
    return f"{plan.component} on {BAD_IMAGE_TAG}: revision r{rollout.revision.number} rolling out"


def _record(run: ChaosRun, recovery: Recovery, *, counted_from: datetime, actor: Actor, reporter: JobReporter,
            timeline: Timeline) -> None:
    """The measured results; RECOVERED when the steady state held again within the SLO."""
    # Never before the moment the recovery counts from (a steady state that was never lost "recovers" then).
    recovered_at = recovery.recovered_at and max(recovery.recovered_at, counted_from)
    seconds = None if recovered_at is None else max(0.0, (recovered_at - counted_from).total_seconds())
    within = seconds is not None and seconds <= run.slo_seconds
    window = recovery.window_seconds
    services = recovery.unavailable
    availability = 100.0 if not services or window <= 0 else round(
        100.0 * (1 - sum(min(s, window) for s in services.values()) / len(services) / window), 3)
    fields = {"recovered_at": recovered_at, "recovery_seconds": seconds, "within_slo": within,
              "unavailable": {k: round(v, 3) for k, v in services.items()}, "availability_percent": availability,
              "finished_at": timezone.now()}
    timeline.add("recovered" if recovered_at else "unrecovered",
                 f"steady state held again after {seconds:.3f} s (SLO {run.slo_seconds} s)" if seconds is not None
                 else f"steady state did not hold again within {window:.0f} s")
    timeline.flush()
    current = ChaosRun.objects.filter(pk=run.pk).values_list("status", flat=True).first()
    if current != ChaosRun.RUNNING:  # stopped by a kill switch meanwhile: keep what was measured
        ChaosRun.objects.filter(pk=run.pk).update(**{k: v for k, v in fields.items() if k != "finished_at"})
        return
    to = ChaosRun.RECOVERED if within else ChaosRun.UNRECOVERED
    chaos_run_transition(run, to, actor=actor, reporter=reporter, fields=fields,
                         message=f"recovered in {seconds:.1f} s" if seconds is not None else "did not recover")
    audit_record(actor=actor, action="chaos.run_finished", obj=run, team_slug=run.environment.team.slug,
                 details={"status": to, "recovery_seconds": seconds, "availability_percent": availability})


def _skip(run: ChaosRun, reason: str, *, actor: Actor, reporter: JobReporter, timeline: Timeline) -> None:
    timeline.add("skipped", reason)
    chaos_run_transition(run, ChaosRun.SKIPPED, actor=actor, reporter=reporter, message=reason,
                         fields={"finished_at": timezone.now()})


def _measure(api, run: ChaosRun, plan: Plan, *, actor: Actor, reporter: JobReporter, timeline: Timeline) -> None:
    experiment, environment = run.experiment, run.environment
    temporary = experiment.fault in ChaosExperiment.TEMPORARY
    duration = experiment.duration_seconds if temporary else 0
    timeout = duration + run.slo_seconds + settings.SLIPWAY_CHAOS_WATCH_MARGIN_SECONDS
    # A failed node's pods stay Ready until their toleration of the not-ready taint runs out: the steady
    # state must hold that long (and a little more) before "never lost" may be concluded.
    settle = (settings.SLIPWAY_NODE_EVICTION_SECONDS + 5.0 if experiment.fault == ChaosExperiment.NODE_FAILURE
              else SETTLE_SECONDS)
    with RecoveryWatch(api, environment.namespace, selector=ownership_selector(environment.name),
                       on_event=timeline.observe, settle_seconds=settle) as watch:
        due_at = timezone.now() + timedelta(seconds=duration)
        undos = _undos_for(run, plan, experiment, due_at)
        if not ChaosRun.objects.filter(pk=run.pk, status=ChaosRun.RUNNING).exists():
            # Stopped before anything went in: nothing to take back (a rollback would make a needless revision).
            ChaosUndo.objects.filter(run=run, done_at__isnull=True).delete()
            timeline.add("stopped", "stopped before the fault was injected")
            return
        audit_record(actor=actor, action="chaos.fault_injected", obj=run, team_slug=environment.team.slug,
                     details={"fault": run.fault, "target": plan.as_target(), "undo_due_at": due_at if undos else None})
        # Marked just before the call: a slow injection (a bad image's rollout) cannot hide its first effects.
        injected_at = watch.mark_injected()
        message = _inject(api, run, plan, actor=actor)
        ChaosRun.objects.filter(pk=run.pk).update(injected_at=injected_at)
        timeline.add("fault", message, at=injected_at)
        reporter.progress(30, "fault injected")
        hold = (lambda: _hold_node(api, plan.node, timeline)) if run.fault == ChaosExperiment.NODE_FAILURE else None
        ticker = Ticker(run, undos, actor=actor, timeline=timeline, progress=reporter.progress,
                        deadline=time.monotonic() + timeout, hold=hold)
        if not ChaosRun.objects.filter(pk=run.pk, status=ChaosRun.RUNNING).exists():
            # A kill switch undid the ledger between our undo record and the injection: undo again.
            for undo in undos:
                undo_perform(undo, actor=actor)
            timeline.add("stopped", "the kill switch stopped the run as the fault went in; undone again")
            return
        # A node failure recovers by rescheduling while its node is still down, so its recovery counts
        # from the injection; every other temporary fault's only once it is undone (not_before).
        counts_from_undo = bool(undos) and run.fault != ChaosExperiment.NODE_FAILURE
        recovery = watch.wait_recovered(timeout=timeout, not_before=due_at if counts_from_undo else None,
                                        stop=ticker)
        while not ticker.stopped and timezone.now() < due_at and any(u.done_at is None for u in undos):
            time.sleep(0.25)  # the failed node stays down for its duration (heartbeat and undo via the ticker)
            ticker()
        if not ticker.stopped:
            ticker.undo_due(force=True)  # a watch that ended early (timeout) must not leave the fault in
    if ticker.stopped:
        timeline.add("stopped", "the kill switch stopped the run; its faults were undone")
        timeline.flush()
        return
    # A temporary fault's recovery counts from its undo (a bad image's from Slipway's rollback).
    counted_from = max(injected_at, ticker.undone_at) if counts_from_undo and ticker.undone_at else injected_at
    _record(run, recovery, counted_from=counted_from, actor=actor, reporter=reporter, timeline=timeline)


def run_chaos(job: Job, reporter: JobReporter, actor: Actor) -> None:
    """The job body of ``environments.chaos_run``. Raises (after undoing every fault) on errors."""
    run = ChaosRun.objects.select_related("experiment", "environment__cluster", "environment__team",
                                          "environment__current_revision").get(job=job)
    timeline = Timeline(run, reporter)
    if run.status in FINAL:
        reporter.log(f"run {run.pk} already {run.status}: nothing to do")
        return
    if run.status == ChaosRun.RUNNING:
        left = undos_apply_pending(run.pk, actor=actor)
        timeline.add("interrupted", "the worker stopped mid-run; every fault was undone, nothing injected again"
                     if not left else f"the worker stopped mid-run; {len(left)} undo(s) failed and are retried")
        chaos_run_transition(run, ChaosRun.INTERRUPTED, actor=actor, reporter=reporter,
                             message="the worker stopped mid-run", fields={"finished_at": timezone.now()})
        return
    environment = run.environment
    refusal = chaos_refusal(environment)
    if refusal:
        _skip(run, refusal, actor=actor, reporter=reporter, timeline=timeline)
        return
    revision = environment.current_revision
    now = timezone.now()
    chaos_run_transition(run, ChaosRun.RUNNING, actor=actor, reporter=reporter, fields={
        "revision": revision, "revision_number": revision.number, "started_at": now, "heartbeat_at": now})
    timeline.add("started", f"{run.experiment.get_fault_display()} in {environment.name} r{revision.number}")
    try:
        with api_client(environment.cluster.kubeconfig) as api:
            reporter.progress(5, "checking the steady state")
            state = steady_state(api, environment.namespace, selector=ownership_selector(environment.name))
            if not state.holds:
                _skip(run, "steady state does not hold: " + "; ".join(state.problems), actor=actor,
                      reporter=reporter, timeline=timeline)
                return
            timeline.add("steady-state", "steady state holds")
            reporter.progress(15, "choosing the targets")
            plan = plan_for(api, run=run, experiment=run.experiment, revision=revision)
            ChaosRun.objects.filter(pk=run.pk).update(target=plan.as_target())
            if plan.skip:
                _skip(run, plan.skip, actor=actor, reporter=reporter, timeline=timeline)
                return
            _measure(api, run, plan, actor=actor, reporter=reporter, timeline=timeline)
    except Exception as exc:
        left = undos_apply_pending(run.pk, actor=actor)
        timeline.add("failed", f"{type(exc).__name__}: {exc}" + (f"; {len(left)} undo(s) failed and are retried"
                                                                 if left else "; every fault was undone"))
        if ChaosRun.objects.filter(pk=run.pk, status=ChaosRun.RUNNING).exists():
            chaos_run_transition(run, ChaosRun.FAILED, actor=actor, reporter=reporter,
                                 message=f"{type(exc).__name__}: {exc}", fields={"finished_at": timezone.now()})
        raise
    finally:
        timeline.flush()
