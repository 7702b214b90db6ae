"""Cost sampling: every SLIPWAY_COST_SAMPLE_SECONDS, per cluster, the requests of each environment's
running pods and the cluster's nodes are priced over the interval since the cluster's last sample.

Rules (the README's "Cost" subsection says the same in words):
- The interval is (the cluster's last sample's end, now], at most 2 periods long (a tick missed for a day
  does not bill a day of what runs now). A re-run less than half a period after the last sample writes
  nothing; two concurrent ticks lock the cluster's row and the loser writes nothing (idempotent).
- cost = requested vCPU x vcpu_hour + requested GiB x gib_hour, over the interval (exact Decimals).
- asleep = the environment's status is asleep or sleeping at sampling; would_cost = its awake hourly
  cost (its last awake sample's, else its rendered requests with the replicas the sleep job saved).
- idle = awake, and no activity for the schedule's idle_hours (SLIPWAY_COST_IDLE_HOURS without one).
- Expiry saving: an environment destroyed by expiry (destroyed, with expires_at) gets one sample from
  expires_at to the end of that month: cost 0, would_cost its last awake hourly cost x those hours.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from clusters.kube.client import api_client
from clusters.kube.usage import NamespaceUsage, managed_pod_usage, nodes_by_instance_type
from clusters.models import Cluster

from ..models import CostSample, Environment, SleepState
from ..sleep.schedule import schedule_for
from .forecast import environment_requests
from .prices import GIB, Prices, exact, hourly_cost, prices_for
from .storage_usage import s3_bytes_by_environment, storage_samples

logger = logging.getLogger(__name__)
ASLEEP_STATUSES = (Environment.SLEEPING, Environment.ASLEEP)
HOUR = Decimal(3600)
EXPIRY_LOOKBACK = timedelta(days=35)


@dataclass(frozen=True)
class ClusterUsage:
    pods: dict[str, NamespaceUsage]  # by namespace
    nodes: dict[str, int]  # by instance type
    stored: dict[int, int]  # S3 bytes by environment id


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime

    @property
    def seconds(self) -> Decimal:
        return exact((self.end - self.start).total_seconds())


def sample_period() -> timedelta:
    return timedelta(seconds=settings.SLIPWAY_COST_SAMPLE_SECONDS)


def _watermark(cluster: Cluster) -> datetime | None:
    # The node sample is written on every tick of a reachable cluster: its end is the cluster's watermark.
    return CostSample.objects.filter(cluster=cluster, kind=CostSample.NODES).aggregate(end=Max("ended_at"))["end"]


def next_interval(cluster: Cluster, *, now: datetime) -> Interval | None:
    """The interval a tick at ``now`` samples, or None when the last sample is under half a period old."""
    period = sample_period()
    last = _watermark(cluster)
    start = now - period if last is None else max(last, now - 2 * period)
    if now - start < period / 2:
        return None
    return Interval(start=start, end=now)


def cluster_usage(cluster: Cluster) -> ClusterUsage:
    """Read the cluster's running managed pods, its nodes and its environments' S3 bytes (outside any
    transaction: nothing is locked while the cluster and S3 answer). Raises API and connection errors."""
    with api_client(cluster.kubeconfig) as api:
        pods, nodes = managed_pod_usage(api), nodes_by_instance_type(api)
    return ClusterUsage(pods=pods, nodes=nodes, stored=s3_bytes_by_environment(_live(cluster)))


def _live(cluster: Cluster):
    return Environment.objects.filter(cluster=cluster).exclude(status=Environment.DESTROYED)


def awake_hourly_cost(environment: Environment, prices: Prices, state: SleepState | None) -> Decimal:
    """What ``environment`` costs per hour awake: the rate of its last awake sample with pods, else its
    rendered requests with the replicas the sleep job saved."""
    last = (CostSample.objects.filter(environment=environment, kind=CostSample.PODS, asleep=False, pods__gt=0,
                                      seconds__gt=0).order_by("-ended_at").values("cost", "seconds").first())
    if last:
        return last["cost"] * HOUR / exact(last["seconds"])
    requests = environment_requests(environment, replicas=(state.replicas if state else None) or None)
    if requests is None:
        return Decimal(0)  # unknown: claim no saving rather than guess one
    return hourly_cost(prices, cpu_cores=requests.cpu_cores, memory_gib=requests.memory_gib)


def is_idle(environment: Environment, state: SleepState | None, *, now: datetime) -> bool:
    """Awake without activity for the schedule's idle_hours (else SLIPWAY_COST_IDLE_HOURS). An
    environment with no recorded activity counts from its creation."""
    schedule = schedule_for(environment=environment)
    hours = (schedule.idle_hours if schedule is not None and schedule.idle_hours else None) or \
        settings.SLIPWAY_COST_IDLE_HOURS
    last = (state.last_activity_at if state else None) or environment.created_at
    return now - last > timedelta(hours=hours)


def _attribution(environment: Environment) -> dict[str, Any]:
    return {"cluster_id": environment.cluster_id, "environment": environment, "team_id": environment.team_id,
            "owner_id": environment.owner_id, "stage": environment.stage}


def environment_sample(environment: Environment, usage: NamespaceUsage | None, prices: Prices, interval: Interval,
                       state: SleepState | None) -> CostSample:
    """The pods sample of one environment over ``interval`` (unsaved)."""
    cpu = usage.cpu_cores if usage else Decimal(0)
    memory_gib = usage.memory_bytes / GIB if usage else Decimal(0)
    cost = hourly_cost(prices, cpu_cores=cpu, memory_gib=memory_gib) * interval.seconds / HOUR
    asleep = environment.status in ASLEEP_STATUSES
    would_cost = awake_hourly_cost(environment, prices, state) * interval.seconds / HOUR if asleep else cost
    return CostSample(kind=CostSample.PODS, **_attribution(environment), started_at=interval.start,
                      ended_at=interval.end, seconds=float(interval.seconds), cpu_cores=float(cpu),
                      memory_gib=float(memory_gib), pods=usage.pods if usage else 0, asleep=asleep,
                      idle=not asleep and is_idle(environment, state, now=interval.end), cost=cost,
                      would_cost=max(would_cost, cost), currency=prices.currency)


def nodes_sample(cluster: Cluster, nodes: dict[str, int], prices: Prices, interval: Interval) -> CostSample:
    """The cluster's node-hours over ``interval`` (unsaved); an unlabelled node is the default type."""
    per_hour = sum((prices.node_hour(kind) * count for kind, count in nodes.items()), Decimal(0))
    cost = per_hour * interval.seconds / HOUR
    return CostSample(kind=CostSample.NODES, cluster=cluster, started_at=interval.start, ended_at=interval.end,
                      seconds=float(interval.seconds), nodes=dict(nodes), cost=cost, would_cost=cost,
                      currency=prices.currency)


def month_end(moment: datetime) -> datetime:
    start = timezone.localtime(moment).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


def expiry_samples(cluster: Cluster, prices: Prices, *, now: datetime) -> list[CostSample]:
    """One saving sample per environment destroyed by expiry that has none yet (unsaved)."""
    expired = (Environment.objects.filter(cluster=cluster, status=Environment.DESTROYED,
                                          expires_at__isnull=False, expires_at__gt=now - EXPIRY_LOOKBACK,
                                          expires_at__lte=now)
               .exclude(Exists(CostSample.objects.filter(environment=OuterRef("pk"), kind=CostSample.PODS,
                                                         started_at=OuterRef("expires_at"))))
               .select_related("cluster", "current_revision", "team", "owner"))
    samples = []
    for environment in expired:
        end = month_end(environment.expires_at)
        seconds = exact((end - environment.expires_at).total_seconds())
        rate = awake_hourly_cost(environment, prices, SleepState.objects.filter(environment=environment).first())
        samples.append(CostSample(kind=CostSample.PODS, **_attribution(environment),
                                  started_at=environment.expires_at, ended_at=end, seconds=float(seconds),
                                  cost=Decimal(0), would_cost=rate * seconds / HOUR, currency=prices.currency))
    return samples


def cluster_cost_sample(cluster: Cluster, *, now: datetime | None = None,
                        usage: ClusterUsage | None = None) -> int:
    """Sample ``cluster`` at ``now``; returns the rows written (0: sampled recently, or another tick won).
    Raises API/connection errors from reading the cluster (nothing is written then)."""
    now = now or timezone.now()
    if next_interval(cluster, now=now) is None:
        return 0
    usage = usage or cluster_usage(cluster)
    prices = prices_for(cluster)
    with transaction.atomic():
        Cluster.objects.select_for_update().filter(pk=cluster.pk).first()  # one tick per cluster at a time
        interval = next_interval(cluster, now=now)
        if interval is None:
            return 0
        environments = list(_live(cluster).filter(created_at__lt=now)
                            .select_related("cluster", "current_revision", "team", "owner"))
        states = {s.environment_id: s for s in SleepState.objects.filter(environment__in=environments)}
        rows = [nodes_sample(cluster, usage.nodes, prices, interval)]
        rows += [environment_sample(environment, usage.pods.get(environment.namespace), prices, interval,
                                    states.get(environment.pk)) for environment in environments]
        rows += storage_samples(environments, usage.stored, prices, start=interval.start, end=interval.end,
                                seconds=interval.seconds)
        rows += expiry_samples(cluster, prices, now=now)
        CostSample.objects.bulk_create(rows)
    return len(rows)


def cost_sample_all(*, now: datetime | None = None) -> dict[str, int | str]:
    """Sample every reachable cluster (the beat task's body). Idempotent; returns {cluster: rows written
    or the error}; an unreachable cluster is skipped and its next tick covers up to 2 periods."""
    now = now or timezone.now()
    outcome: dict[str, int | str] = {}
    for cluster in Cluster.objects.exclude(status__in=[Cluster.DESTROYED, Cluster.DESTROYING]):
        if not cluster.kubeconfig:
            continue  # not reachable by Slipway (yet): nothing to read
        try:
            outcome[cluster.name] = cluster_cost_sample(cluster, now=now)
        except Exception as exc:  # any cluster error: the other clusters are still sampled
            logger.warning("cost sampling of %s failed: %s", cluster.name, type(exc).__name__)
            outcome[cluster.name] = f"failed: {type(exc).__name__}"
    return outcome
