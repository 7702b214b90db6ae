"""What an environment costs from its RENDERED requests: the forecast at creation, and what an asleep
environment would cost awake (the sampler's would_cost when no awake sample is known).

The requests are read from the manifests ``environments.render`` makes (each Deployment's and
StatefulSet's pod requests x replicas, backing services included), so the forecast and the sampled cost
of the same environment agree: the pods the cluster runs are those manifests.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError

from clusters.kube.usage import workload_pod_requests
from portal.accounts.models import Team

from ..catalog.versions import Picked, split_reference
from ..models import Blueprint, Environment, ImageVersion
from ..render import render
from ..render.spec import BackingServiceSpec, ComponentSpec, EnvironmentSpec
from ..sleep.schedule import awake_fraction, schedule_for
from ..snapshot import snapshot_from_blueprint, spec_for
from .prices import GIB, hourly_cost, prices_for

logger = logging.getLogger(__name__)

WORKLOAD_KINDS = ("Deployment", "StatefulSet")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Requests:
    """Summed requests: vCPU cores and memory in GiB (exact Decimals)."""

    cpu_cores: Decimal
    memory_gib: Decimal


@dataclass(frozen=True)
class Forecast:
    """About what a new environment costs per day, running all day and with its team's sleep schedule."""

    per_hour: Decimal
    per_day_running: Decimal
    per_day_with_schedule: Decimal
    currency: str
    schedule: str  # in words: which schedule applies and the share of the week it is awake
    awake_fraction: float
    cpu_cores: Decimal
    memory_gib: Decimal

    @property
    def sentence(self) -> str:
        running = f"about {money(self.per_day_running, self.currency)}/day running"
        if self.awake_fraction >= 1:
            return f"{running} ({self.schedule})."
        return f"{running}; with {self.schedule}, about {money(self.per_day_with_schedule, self.currency)}/day."


def money(amount: Decimal, currency: str) -> str:
    """``$1.23`` for USD, ``1.23 EUR`` otherwise (rounded to the cent)."""
    rounded = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    return f"${rounded}" if currency == "USD" else f"{rounded} {currency}"


def workload_requests(manifests: list[dict[str, Any]], *, replicas: dict[str, int] | None = None) -> Requests:
    """Pod requests x replicas over the Deployments and StatefulSets of ``manifests``. ``replicas``
    overrides a workload's count by name (an asleep environment's saved replicas); an autoscaled one
    without a count runs its HorizontalPodAutoscaler's minReplicas."""
    minimums = {m["spec"]["scaleTargetRef"]["name"]: m["spec"].get("minReplicas", 1)
                for m in manifests if m["kind"] == "HorizontalPodAutoscaler"}
    cpu, memory = Decimal(0), Decimal(0)
    for manifest in manifests:
        if manifest["kind"] not in WORKLOAD_KINDS:
            continue
        name = manifest["metadata"]["name"]
        count = (replicas or {}).get(name, manifest["spec"].get("replicas", minimums.get(name, 1)))
        pod_cpu, pod_memory = workload_pod_requests(manifest)
        cpu += pod_cpu * count
        memory += pod_memory * count
    return Requests(cpu_cores=cpu, memory_gib=memory / GIB)


def environment_requests(environment: Environment, *, replicas: dict[str, int] | None = None) -> Requests | None:
    """What ``environment``'s current revision requests when awake (``replicas``: saved counts by name);
    None when that revision cannot be rendered (its snapshot lacks what the renderer needs)."""
    if environment.current_revision is None:
        return Requests(Decimal(0), Decimal(0))
    try:
        manifests = render(spec_for(environment, environment.current_revision))
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        # A page showing the cost, or the sampling tick, must not fail over one revision it cannot price.
        logger.warning("cannot price %s r%s: %s: %s", environment.name, environment.current_revision.number,
                       type(exc).__name__, exc)
        return None
    return workload_requests(manifests, replicas=replicas)


def _placeholder_picks(blueprint: Blueprint, versions: dict[str, str]) -> dict[str, Picked]:
    # Versions change images, never requests: a forecast needs no resolved (or even chosen) version.
    return {c.name: Picked(ImageVersion(tag=split_reference(versions.get(c.name) or "forecast")[0] or "forecast"))
            for c in blueprint.components.all()}


def _spec_of_snapshot(snapshot: dict[str, Any], *, stage: str) -> EnvironmentSpec:
    components = tuple(ComponentSpec(
        name=c["name"], image=c["image"], tag=c["tag"], port=c.get("port"), replicas=c["replicas"],
        cpu_request=c["cpu_request"], memory_request=c["memory_request"], cpu_limit=c["cpu_limit"],
        memory_limit=c["memory_limit"], autoscaling_min=c.get("autoscaling_min"),
        autoscaling_max=c.get("autoscaling_max"), ingress_path=c.get("ingress_path")) for c in snapshot["components"])
    backing = tuple(BackingServiceSpec(kind=b["kind"], name=b["name"], version=b.get("version", ""),
                                       may_sleep=bool(b.get("may_sleep")))
                    for b in snapshot.get("backing_services", []))
    return EnvironmentSpec(name="forecast", namespace="slw-forecast", team="forecast", owner="forecast", stage=stage,
                           revision=1, components=components, backing_services=backing,
                           in_cluster_backing=stage != "prod")


@dataclass(frozen=True)
class NewRequests:
    """A new environment's requests: all of them, and the part a sleep does not stop (the StatefulSets of
    backing services the blueprint does not let sleep)."""

    total: Requests
    staying_up: Requests


def new_environment_requests(*, blueprint: Blueprint, stage: str, versions: dict[str, str]) -> NewRequests:
    """What a new environment of ``blueprint`` at ``stage`` would request (stage overrides applied).
    Raises RenderError (a ValueError) when the blueprint cannot render."""
    picks = _placeholder_picks(blueprint, versions)
    snapshot = snapshot_from_blueprint(blueprint=blueprint, stage=stage, versions=picks)
    spec = _spec_of_snapshot(snapshot, stage=stage)
    manifests = render(spec)
    awake_only = {b.name for b in spec.backing_services if not b.may_sleep}
    staying = [m for m in manifests if m["kind"] == "StatefulSet" and m["metadata"]["name"] in awake_only]
    return NewRequests(total=workload_requests(manifests), staying_up=workload_requests(staying))


def schedule_words(schedule: Any, fraction: float) -> str:
    if schedule is None or fraction >= 1:
        return "no sleep schedule applies" if schedule is None else "its sleep schedule keeps it awake all week"
    times = f"sleeps {schedule.sleep_cron}" + (f", wakes {schedule.wake_cron}" if schedule.wake_cron else "")
    return f"the sleep schedule ({times}, {schedule.timezone}: awake {fraction:.0%} of the week)"


def forecast_for_new_environment(*, cluster: Any, blueprint: Blueprint, stage: str, versions: dict[str, str],
                                 team: Team | None) -> Forecast:
    """About $X/day running, and $Y/day with the sleep schedule the team/stage defaults give
    (``awake_fraction`` of a typical week; idle sleep is not counted). Raises RenderError."""
    new = new_environment_requests(blueprint=blueprint, stage=stage, versions=versions)
    requests = new.total
    prices = prices_for(cluster)
    per_hour = hourly_cost(prices, cpu_cores=requests.cpu_cores, memory_gib=requests.memory_gib)
    staying_per_hour = hourly_cost(prices, cpu_cores=new.staying_up.cpu_cores, memory_gib=new.staying_up.memory_gib)
    schedule = schedule_for(team=team, stage=stage)
    fraction = awake_fraction(schedule)
    per_day = per_hour * 24
    # Asleep, only what a sleep stops is saved: backing services that may not sleep run all day.
    with_schedule = (per_hour - staying_per_hour) * 24 * Decimal(repr(fraction)) + staying_per_hour * 24
    return Forecast(per_hour=per_hour, per_day_running=per_day,
                    per_day_with_schedule=with_schedule, currency=prices.currency,
                    schedule=schedule_words(schedule, fraction), awake_fraction=fraction,
                    cpu_cores=requests.cpu_cores, memory_gib=requests.memory_gib)
