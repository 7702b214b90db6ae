"""What a run hits: the component (given or random), the pods, node or backing service, within the
blast radius — never more than ``floor(desired × max_down_percent / 100)`` of a component's pods down at
once, counting the pods that are already not ready. A fault that would exceed it is reduced (pod kills)
or skipped (faults that take a whole component or node at once).

``plan_for`` reads the cluster; the choices themselves (``pods_to_kill``, ``node_to_fail``) are pure, so
the blast-radius arithmetic is tested without a cluster.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any

from clusters.kube.objects import resource_for
from clusters.kube.owner_labels import COLOUR, ENVIRONMENT, MANAGED_BY, MANAGED_BY_SLIPWAY, ownership_selector
from clusters.kube.pods import pods_list
from clusters.kube.readiness import wanted_replicas

from ..models import Environment, EnvironmentRevision
from ..render.labels import NAME
from .models import ChaosExperiment, ChaosRun

BLAST_RADIUS = "blast radius"


@dataclass(frozen=True)
class PodState:
    """What the blast radius needs to know of one pod."""

    name: str
    ready: bool
    node: str = ""


@dataclass
class Plan:
    """The fault's target, decided before anything is injected (stored as the run's ``target``)."""

    component: str
    selector: str  # label selector of the component's (or backing service's) pods
    desired: int = 0
    not_ready: int = 0  # desired pods not ready before the fault
    pods: list[str] = field(default_factory=list)
    node: str = ""
    statefulset: str = ""
    replicas: int | None = None  # the StatefulSet's replicas before it was scaled to zero
    policy: str = ""
    pod_selector: dict[str, str] = field(default_factory=dict)
    image: str = ""  # bad-image: the image the bad revision runs
    skip: str = ""  # why nothing is injected (blast radius, no such component, …)

    def as_target(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "", [], {}) and k != "skip"}


def pod_state(pod: Any) -> PodState:
    """A ``V1Pod`` as the blast radius sees it: terminating pods are not ready."""
    conditions = (pod.status.conditions if pod.status else None) or []
    ready = pod.metadata.deletion_timestamp is None and any(c.type == "Ready" and c.status == "True"
                                                           for c in conditions)
    return PodState(name=pod.metadata.name, ready=ready, node=(pod.spec.node_name if pod.spec else "") or "")


def down_budget(*, desired: int, ready: int, max_down_percent: int) -> tuple[int, int]:
    """(pods that may still go down, pods already not ready) under the blast-radius limit."""
    allowed = desired * max_down_percent // 100
    not_ready = max(0, desired - ready)
    return allowed - not_ready, not_ready


def pods_to_kill(pods: list[PodState], *, fault: str, percent: int, desired: int, max_down_percent: int,
                 rng: random.Random) -> tuple[list[str], str]:
    """The pods a pod-kill fault deletes, reduced to the blast radius, and why none when empty."""
    ready = [p for p in pods if p.ready]
    budget, not_ready = down_budget(desired=desired, ready=len(ready), max_down_percent=max_down_percent)
    if fault == ChaosExperiment.POD_KILL:
        wanted = 1
    elif fault == ChaosExperiment.POD_KILL_PERCENT:
        wanted = max(1, desired * percent // 100)
    else:
        wanted = len(ready)
    count = min(wanted, budget, len(ready))
    if not ready:
        return [], "no ready pod to kill"
    if count <= 0:
        return [], (f"{BLAST_RADIUS}: {not_ready} of {desired} pods already not ready and at most "
                    f"{max_down_percent} % may be down")
    return sorted(p.name for p in rng.sample(ready, count)), ""


def node_to_fail(pods: list[PodState], *, desired: int, max_down_percent: int, rng: random.Random) -> tuple[str, str]:
    """A node hosting the component's ready pods whose loss stays within the blast radius, and why none."""
    ready = [p for p in pods if p.ready and p.node]
    budget, _ = down_budget(desired=desired, ready=len(ready), max_down_percent=max_down_percent)
    per_node: dict[str, int] = {}
    for pod in ready:
        per_node[pod.node] = per_node.get(pod.node, 0) + 1
    if not per_node:
        return "", "no ready pod is on a node"
    fits = sorted(node for node, count in per_node.items() if count <= budget)
    if not fits:
        return "", f"{BLAST_RADIUS}: every node hosting it holds more pods than {max_down_percent} % may be down"
    return rng.choice(fits), ""


def whole_component(pods: list[PodState], *, desired: int, max_down_percent: int) -> str:
    """Why a fault taking every pod at once (a network cut, a backing service at zero) exceeds the radius."""
    ready = sum(1 for p in pods if p.ready)
    budget, _ = down_budget(desired=desired, ready=ready, max_down_percent=max_down_percent)
    if ready > budget:
        return f"{BLAST_RADIUS}: it takes all {ready} ready pods down and at most {max_down_percent} % may be down"
    return ""


def _live_colour(environment: Environment) -> str:
    return environment.active_colour if environment.strategy == "bluegreen" else ""


def component_selector(environment: Environment, name: str, *, backing: bool = False) -> str:
    """The label selector of a component's pods (the live colour's) or of a backing service's."""
    colour = "" if backing else _live_colour(environment)
    return f"{ownership_selector(environment.name, colour=colour)},{NAME}={name}"


def _choose(experiment: ChaosExperiment, names: list[str], rng: random.Random, what: str) -> tuple[str, str]:
    if experiment.target:
        if experiment.target not in names:
            return "", f"{experiment.target} is not a {what} of this revision"
        return experiment.target, ""
    if not names:
        return "", f"the environment has no {what}"
    return rng.choice(sorted(names)), ""


def _desired(api: Any, namespace: str, kind: str, name: str) -> int:
    return wanted_replicas(resource_for(api, "apps/v1", kind).get(name=name, namespace=namespace))


def plan_for(api: Any, *, run: ChaosRun, experiment: ChaosExperiment, revision: EnvironmentRevision,
             rng: random.Random | None = None) -> Plan:
    """Decide the run's target from the revision and the live pods. Raises API errors."""
    rng = rng or random.SystemRandom()
    environment, snapshot = run.environment, revision.snapshot
    namespace, fault = environment.namespace, experiment.fault
    if fault == ChaosExperiment.BACKING_SCALE_ZERO:
        backing = [b["name"] for b in snapshot.get("backing_services", [])]
        name, problem = _choose(experiment, backing if environment.stage != "prod" else [], rng,
                                "backing service in the cluster")
        if problem:
            return Plan(component=name or experiment.target, selector="", skip=problem)
        plan = Plan(component=name, selector=component_selector(environment, name, backing=True), statefulset=name)
        plan.replicas = plan.desired = _desired(api, namespace, "StatefulSet", name)
    else:
        name, problem = _choose(experiment, [c["name"] for c in snapshot["components"]], rng, "component")
        if problem:
            return Plan(component=name or experiment.target, selector="", skip=problem)
        colour = _live_colour(environment)
        plan = Plan(component=name, selector=component_selector(environment, name))
        plan.desired = _desired(api, namespace, "Deployment", f"{name}-{colour}" if colour else name)
    pods = [pod_state(p) for p in pods_list(api, namespace, selector=plan.selector)]
    budget_args = {"desired": plan.desired, "max_down_percent": experiment.max_down_percent}
    plan.not_ready = down_budget(ready=sum(p.ready for p in pods), **budget_args)[1]
    if fault in (ChaosExperiment.POD_KILL, ChaosExperiment.POD_KILL_PERCENT, ChaosExperiment.POD_KILL_ALL):
        plan.pods, plan.skip = pods_to_kill(pods, fault=fault, percent=experiment.percent, rng=rng, **budget_args)
    elif fault == ChaosExperiment.NODE_FAILURE:
        plan.node, plan.skip = node_to_fail(pods, rng=rng, **budget_args)
        plan.pods = sorted(p.name for p in pods if p.node == plan.node and plan.node)
    elif fault in (ChaosExperiment.NETWORK_CUT, ChaosExperiment.BACKING_SCALE_ZERO):
        plan.skip = whole_component(pods, **budget_args)
        if fault == ChaosExperiment.NETWORK_CUT:
            plan.policy = f"slipway-chaos-run-{run.pk}"
            plan.pod_selector = {MANAGED_BY: MANAGED_BY_SLIPWAY, ENVIRONMENT: environment.name, NAME: name}
            if _live_colour(environment):
                plan.pod_selector[COLOUR] = _live_colour(environment)
    # bad-image: no pod is taken down by Slipway itself; the rollout's surge keeps the old pods serving.
    return plan
