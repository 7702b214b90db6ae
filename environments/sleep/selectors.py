"""Reads about sleeping: whether an environment may go to sleep now, and the wake already under way."""

from __future__ import annotations

from typing import Any

from clusters.kube.wake_route import WAKER
from portal.jobs.models import Job

from ..chaos.models import ChaosRun
from ..models import Environment, Rollout
from ..snapshot import spec_for
from .models import SleepState, saved_statefulsets

SLEEP_JOB_KINDS = ("sleep", "wake")
_UNFINISHED = (Job.QUEUED, Job.RUNNING)

# Why an environment cannot go to sleep, by status (ready and failed can).
_REFUSED_BY_STATUS = {
    Environment.PENDING: "A rollout is in progress; try again when it ends.",
    Environment.DEPLOYING: "A rollout is in progress; try again when it ends.",
    Environment.SLEEPING: "This environment is already going to sleep.",
    Environment.ASLEEP: "This environment is already asleep.",
    Environment.WAKING: "This environment is waking up; try again once it is ready.",
    Environment.DESTROYING: "This environment is being destroyed.",
    Environment.DESTROYED: "This environment is destroyed.",
}


def sleep_refusal(environment: Environment) -> str | None:
    """Why ``environment`` cannot go to sleep now (a sentence for a person), or None when it can.

    Refused: not ready or failed (a rollout, a sleep or a wake in progress, already asleep, destroyed),
    any unfinished job of the environment (a queued rollout, a data copy), an active chaos run.
    Read-only; the sleep service calls it with the environment's row locked.
    """
    refusal = _REFUSED_BY_STATUS.get(environment.status)
    if refusal:
        return refusal
    job = Job.objects.filter(target_type="environments.environment", target_id=str(environment.pk),
                             state__in=_UNFINISHED).first()
    if job is not None:
        what = "A rollout is in progress" if job.kind == "rollout" else f"A job is running ({job.title})"
        return f"{what}; try again when it ends."
    if ChaosRun.objects.filter(environment=environment, status__in=ChaosRun.ACTIVE).exists():
        return "A chaos experiment is running on this environment; try again when it ends."
    return None


def wake_in_progress(environment: Environment) -> Rollout | None:
    """The wake job of ``environment`` that is queued or running, if any (many requests, one wake)."""
    return (Rollout.objects.filter(environment=environment, job__kind="wake", job__state__in=_UNFINISHED)
            .select_related("job").first())


def sleep_state_of(environment: Environment) -> SleepState | None:
    """The environment's sleep state row, or None when it never slept nor had activity recorded."""
    return SleepState.objects.filter(environment=environment).first()


def has_saved_state(environment: Environment) -> bool:
    """Whether a sleep saved something that a wake (or a rollout) has not restored yet."""
    state = sleep_state_of(environment)
    return state is not None and bool(state.replicas or state.autoscalers or state.routes)


def backing_that_may_sleep(environment: Environment) -> list[str]:
    """The names of the environment's in-cluster backing services (StatefulSets) that its current revision's
    blueprint lets sleep (``may_sleep``); the others stay up while it sleeps. Empty for production (managed
    servers, nothing in the cluster) and without a revision. Read-only."""
    if environment.current_revision is None:
        return []
    spec = spec_for(environment, environment.current_revision)
    return sorted(b.name for b in spec.backing_services if b.may_sleep and spec.in_cluster_backing)


# What a sleep changes on purpose, by kind: not drift while the environment sleeps (a StatefulSet's count
# only when the sleep saved it: one that must stay up and is at zero has drifted).
_SLEEP_CHANGES = {"Deployment": ("spec.replicas",), "StatefulSet": ("spec.replicas",), "Ingress": ("spec.rules",)}
_ASLEEP_STATUSES = frozenset({Environment.SLEEPING, Environment.ASLEEP, Environment.WAKING})


def drifts_not_from_sleep(environment: Environment, drifts: list[Any]) -> list[Any]:
    """``drifts`` (clusters.kube.live_diff.ObjectDrift) without what a sleep did on purpose, while the
    environment is going to sleep, asleep or waking: Deployments at zero, autoscalers deleted, Ingresses
    routed to the waker, the waker Service itself, and the StatefulSets it saved at zero (backing services
    that may sleep). Anything else still counts. Reads the status and the saved state only."""
    if environment.status not in _ASLEEP_STATUSES:
        return drifts
    state = sleep_state_of(environment)
    slept_statefulsets = saved_statefulsets(state.replicas) if state is not None else {}
    kept = []
    for drift in drifts:
        kind, name = drift.key[1], drift.key[3]
        if kind == "HorizontalPodAutoscaler" and drift.state == "missing":
            continue
        if kind == "Service" and name == WAKER and drift.state == "extra":
            continue
        prefixes = _SLEEP_CHANGES.get(kind)
        if kind == "StatefulSet" and name not in slept_statefulsets:
            prefixes = None
        if prefixes and drift.state == "changed" and drift.changes and all(
                c.path.startswith(prefixes) for c in drift.changes):
            continue
        kept.append(drift)
    return kept
