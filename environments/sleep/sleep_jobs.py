"""The sleep and wake jobs — rollouts of their own kind (a Rollout of the current revision whose job kind is
"sleep" or "wake") — and what a normal rollout does for an environment that slept.

Sleep: save replicas, autoscalers and routes in the SleepState row BEFORE changing anything, then route the
Ingresses to the waker, delete the autoscalers, scale the Deployments to zero and wait until none of their
pods is left, then the StatefulSets of the backing services that may sleep (``may_sleep`` in the blueprint;
the others stay up): sleeping ──▶ asleep. Wake: those StatefulSets back FIRST, waiting until they are ready
(the applications need their database), then the Deployments to the saved counts (an HPA-scaled count
included), re-create the autoscalers, wait until ready, restore the routes: waking ──▶ ready.

Both converge when a killed worker's job is redelivered: every step is idempotent and the saved state is
merged, never overwritten with what a half-done run left (a Deployment already at zero keeps its count).
"""

from __future__ import annotations

import urllib3
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clusters.kube.client import api_client
from clusters.kube.owner_labels import ENVIRONMENT, MANAGED_BY, MANAGED_BY_SLIPWAY, ownership_selector
from clusters.kube.sleep_scale import (
    autoscalers_restore,
    autoscalers_saved,
    autoscalers_suspend,
    deployments_replicas,
    deployments_restore,
    deployments_scale_to_zero,
    deployments_wait,
    statefulsets_replicas,
    statefulsets_restore,
    statefulsets_scale_to_zero,
    statefulsets_wait,
)
from clusters.kube.wake_route import (
    WAKER,
    ingress_routes,
    ingresses_restore,
    ingresses_route_to_waker,
    wake_address_reachable,
    waker_ensure,
    waker_remove,
)
from portal.audit.actor import Actor
from portal.audit.services import audit_record
from portal.jobs.models import Job
from portal.jobs.reporting import JobReporter

from ..lifecycle import environment_transition
from ..models import Environment
from .models import SleepState, replicas_saved, saved_deployments, saved_statefulsets
from .selectors import backing_that_may_sleep


def _progress(reporter: JobReporter, start: int, span: int, done: str, what: str = "Deployments"):
    # A count, not the wait's per-Deployment summary: with many components that overflows the job's
    # progress message (300 characters).
    def report(ready: int, of: int, message: str) -> None:
        reporter.progress(start + span * ready // max(of, 1), f"{ready} of {of} {what} {done}")

    return report


def _fail(environment: Environment, exc: BaseException, *, actor: Actor, reporter: JobReporter) -> None:
    """Mark the environment failed, unless something else (a destroy) took it over meanwhile."""
    environment.refresh_from_db(fields=["status"])
    if environment.status not in (Environment.SLEEPING, Environment.WAKING):
        return
    if isinstance(exc, (urllib3.exceptions.HTTPError, OSError)):
        message = (f"Cluster {environment.cluster.name} is unreachable ({type(exc).__name__}); "
                   "try again once it answers.")
    else:
        message = f"{type(exc).__name__}: {exc}"
    environment_transition(environment, Environment.FAILED, actor=actor, reporter=reporter, message=message)


def _ours(environment: Environment, job: Job, status: str, reporter: JobReporter) -> bool:
    """Whether this job still has work to do: the service set ``status``; a redelivered job may find the
    work done, a destroy may have taken over."""
    environment.refresh_from_db()
    if environment.status == status:
        return True
    reporter.log(f"{environment.name} is {environment.get_status_display().lower()}: nothing to do")
    return False


def run_sleep(job: Job, reporter: JobReporter, actor: Actor) -> None:
    """Put the environment to sleep. Idempotent (see the module's docstring)."""
    environment = job.rollout.environment
    if not _ours(environment, job, Environment.SLEEPING, reporter):
        return
    state, _ = SleepState.objects.get_or_create(environment=environment)
    namespace, selector = environment.namespace, ownership_selector(environment.name)
    address = settings.SLIPWAY_WAKE_ADDRESS
    try:
        with api_client(environment.cluster.kubeconfig) as api:
            # A re-run after a crash finds its own zeros: the counts saved before win (never 0 over a count).
            deployments = deployments_replicas(api, namespace, selector=selector,
                                               saved=saved_deployments(state.replicas))
            statefulsets = statefulsets_replicas(api, namespace, backing_that_may_sleep(environment),
                                                 selector=selector, saved=saved_statefulsets(state.replicas))
            state.replicas = replicas_saved(deployments, statefulsets)
            state.autoscalers = autoscalers_saved(api, namespace, selector=selector, saved=state.autoscalers)
            state.routes = ingress_routes(api, namespace, selector=selector, saved=state.routes)
            state.save(update_fields=["replicas", "autoscalers", "routes", "updated_at"])
            reporter.log(f"saved {len(deployments)} Deployment count(s), {len(statefulsets)} StatefulSet count(s), "
                         f"{len(state.autoscalers)} autoscaler(s), {len(state.routes)} Ingress(es)")
            reporter.progress(10, "state saved")
            if state.routes:
                labels = {MANAGED_BY: MANAGED_BY_SLIPWAY, ENVIRONMENT: environment.name}
                waker_ensure(api, namespace, address=address, labels=labels)
                routed = ingresses_route_to_waker(api, namespace, state.routes, address=address)
                reporter.log(f"Ingress {', '.join(routed)} → Service {WAKER} ({address})")
                if not wake_address_reachable(address):
                    reporter.log(f"SLIPWAY_WAKE_ADDRESS {address} is a loopback address: the cluster cannot reach "
                                 "it, so requests get no answer until the environment is woken from Slipway")
            reporter.progress(25, "routed to the waker")
            for name in autoscalers_suspend(api, namespace, selector=selector, saved=state.autoscalers):
                reporter.log(f"HorizontalPodAutoscaler/{name}: saved and deleted")
            deployments_scale_to_zero(api, namespace, selector=selector, saved=deployments)
            reporter.log("scaled " + (", ".join(f"{n} {c}→0" for n, c in sorted(deployments.items())) or "nothing"))
            reporter.progress(40, "scaled to zero")
            deployments_wait(api, namespace, deployments, timeout=settings.SLIPWAY_SLEEP_TIMEOUT_SECONDS,
                             on_progress=_progress(reporter, 40, 40, "at zero"))
            # The backing services last: the applications still running until now needed them.
            if statefulsets:
                statefulsets_scale_to_zero(api, namespace, statefulsets)
                reporter.log("scaled " + ", ".join(f"StatefulSet/{n} {c}→0" for n, c in sorted(statefulsets.items())))
                statefulsets_wait(api, namespace, statefulsets, timeout=settings.SLIPWAY_SLEEP_TIMEOUT_SECONDS,
                                  on_progress=_progress(reporter, 80, 19, "at zero", "StatefulSets"))
    except Exception as exc:
        _fail(environment, exc, actor=actor, reporter=reporter)
        raise
    with transaction.atomic():
        SleepState.objects.filter(pk=state.pk).update(slept_at=timezone.now())
        environment_transition(environment, Environment.ASLEEP, actor=actor, reporter=reporter)
    audit_record(actor=actor, action="environment.asleep", obj=environment, team_slug=environment.team.slug,
                 details={"replicas": state.replicas, "autoscalers": sorted(state.autoscalers),
                          "ingresses": sorted(state.routes), "reason": state.reason})
    reporter.progress(100, "asleep: every Deployment at zero")
    reporter.log(f"{environment.name} is asleep")


def run_wake(job: Job, reporter: JobReporter, actor: Actor) -> None:
    """Wake the environment up. Idempotent (see the module's docstring)."""
    environment = job.rollout.environment
    if not _ours(environment, job, Environment.WAKING, reporter):
        return
    state, _ = SleepState.objects.get_or_create(environment=environment)
    namespace, selector = environment.namespace, ownership_selector(environment.name)
    deployments, statefulsets = saved_deployments(state.replicas), saved_statefulsets(state.replicas)
    try:
        with api_client(environment.cluster.kubeconfig) as api:
            if statefulsets:
                _statefulsets_wake(api, environment, statefulsets, reporter)
            scaled = deployments_restore(api, namespace, deployments)
            reporter.log("scaled " + (", ".join(f"{n} 0→{deployments[n]}" for n in scaled) or "nothing"))
            for name in autoscalers_restore(api, namespace, state.autoscalers):
                reporter.log(f"HorizontalPodAutoscaler/{name}: re-created")
            reporter.progress(30, "scaled up")
            live = deployments_replicas(api, namespace, selector=selector)
            deployments_wait(api, namespace, [n for n in deployments if n in live],
                             timeout=settings.SLIPWAY_SLEEP_TIMEOUT_SECONDS,
                             on_progress=_progress(reporter, 30, 60, "ready"))
            # Routes last: requests reach the workloads only once they answer.
            restored = ingresses_restore(api, namespace, state.routes)
            waker_remove(api, namespace)
            if restored:
                reporter.log(f"Ingress {', '.join(restored)}: routes restored")
            reporter.progress(95, "routes restored")
    except Exception as exc:
        _fail(environment, exc, actor=actor, reporter=reporter)
        raise
    now = timezone.now()
    seconds = (now - (state.wake_requested_at or job.started_at or job.created_at)).total_seconds()
    with transaction.atomic():
        SleepState.objects.filter(pk=state.pk).update(woke_at=now, last_wake_seconds=seconds, wake_requested_at=None,
                                                      replicas={}, autoscalers={}, routes={})
        environment_transition(environment, Environment.READY, actor=actor, reporter=reporter)
    audit_record(actor=actor, action="environment.awake", obj=environment, team_slug=environment.team.slug,
                 details={"seconds": round(seconds, 1), "reason": state.reason})
    reporter.progress(100, f"awake after {seconds:.1f}s")
    reporter.log(f"{environment.name} is awake after {seconds:.1f}s")


def _statefulsets_wake(api, environment: Environment, statefulsets: dict[str, int], reporter: JobReporter) -> None:
    """The saved StatefulSets back to their counts, and ready, before any Deployment is scaled up."""
    namespace = environment.namespace
    scaled = statefulsets_restore(api, namespace, statefulsets)
    reporter.log("scaled " + (", ".join(f"StatefulSet/{n} 0→{statefulsets[n]}" for n in scaled) or "no StatefulSet"))
    live = statefulsets_replicas(api, namespace, statefulsets, selector=ownership_selector(environment.name))
    statefulsets_wait(api, namespace, live, timeout=settings.SLIPWAY_SLEEP_TIMEOUT_SECONDS,
                      on_progress=_progress(reporter, 0, 20, "ready", "StatefulSets"))
    reporter.log(f"StatefulSet {', '.join(sorted(live)) or '(none left)'} ready: scaling the Deployments up")


def slept_replicas_restore(api, environment: Environment, reporter: JobReporter) -> None:
    """For a rollout: an environment that slept gets its saved counts back (a Deployment under an HPA has
    no count in the render, so the apply alone would leave it at zero) and loses the waker Service (the
    apply already restored the rendered Ingress). Nothing when nothing is saved. Idempotent."""
    state = SleepState.objects.filter(environment=environment).first()
    if state is None or not (state.replicas or state.routes):
        return
    deployments = saved_deployments(state.replicas)
    # The apply has already brought the rendered StatefulSets back to their count: this is for one it did not.
    statefulsets_restore(api, environment.namespace, saved_statefulsets(state.replicas))
    scaled = deployments_restore(api, environment.namespace, deployments)
    waker_remove(api, environment.namespace)
    reporter.log("woken by this rollout: " + (", ".join(f"{n} 0→{deployments[n]}" for n in scaled) or "no "
                                               "Deployment was at zero"))


def slept_state_clear(environment: Environment) -> bool:
    """For a rollout that succeeded: forget what a sleep saved (the render is the truth again) and record
    the wake. Returns whether there was anything to forget."""
    return bool(SleepState.objects.filter(environment=environment).exclude(replicas={}, autoscalers={}, routes={})
                .update(replicas={}, autoscalers={}, routes={}, woke_at=timezone.now(), reason="rollout",
                        wake_requested_at=None))
