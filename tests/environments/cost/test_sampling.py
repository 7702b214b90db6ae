"""Sampling against the stack's kwok plane: exact Decimal figures over controlled intervals (``now`` is
passed; nothing sleeps)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from clusters.kube.usage import nodes_by_instance_type
from environments.cost.forecast import forecast_for_new_environment
from environments.cost.sampling import cluster_cost_sample
from environments.cost.selectors import cost_samples_visible, cost_totals
from environments.models import Blueprint, CostSample, Environment, PriceTable, SleepSchedule, SleepState
from migrations_tool.models import DataStore
from portal import aws
from tests.environments.cost.conftest import GIB_HOUR, NODE_HOUR, VCPU_HOUR, VERSIONS, db_environment
from tests.racing import race

SIX = Decimal("0.000001")
# The demo blueprint "shop" at stage qa requests 0.45 vCPU and 0.6875 GiB (web, api, worker and backing services).
QA_CPU, QA_GIB = Decimal("0.45"), Decimal("0.6875")
QA_HOUR = QA_CPU * VCPU_HOUR + QA_GIB * GIB_HOUR  # 0.0235 at the test prices


@pytest.fixture
def hourly(settings):
    settings.SLIPWAY_COST_SAMPLE_SECONDS = 3600


def pods_sample(environment):
    return CostSample.objects.get(environment=environment, kind=CostSample.PODS)


def test_an_hour_of_a_rolled_out_environment_costs_its_requests_and_equals_the_forecast(
        rolled_out, priced_cluster, kube_client, hourly, users):
    environment = rolled_out("hour")
    now = timezone.now()
    assert cluster_cost_sample(priced_cluster, now=now) >= 2

    sample = pods_sample(environment)
    assert (sample.started_at, sample.ended_at, sample.seconds) == (now - timedelta(hours=1), now, 3600.0)
    assert (Decimal(repr(sample.cpu_cores)), Decimal(repr(sample.memory_gib))) == (QA_CPU, QA_GIB)
    assert sample.cost == QA_HOUR == Decimal("0.0235")
    assert (sample.asleep, sample.would_cost, sample.team, sample.owner, sample.stage) == (
        False, sample.cost, environment.team, users["qa"], "qa")
    forecast = forecast_for_new_environment(cluster=priced_cluster, blueprint=Blueprint.objects.get(name="shop"),
                                            stage="qa", versions=dict(VERSIONS), team=environment.team)
    assert forecast.per_hour == sample.cost  # rendered requests = what the cluster runs
    assert forecast.per_day_running == Decimal("0.564")

    nodes = CostSample.objects.get(cluster=priced_cluster, kind=CostSample.NODES)
    counts = nodes_by_instance_type(kube_client)
    assert nodes.nodes == counts
    assert nodes.cost == NODE_HOUR * sum(counts.values())  # every kwok node is an m5.xlarge at 0.2/h


def test_re_runs_write_nothing_twice_and_a_long_gap_is_capped(priced_cluster, users, team, hourly):
    environment = db_environment(users["qa"], team, priced_cluster)
    now = timezone.now()
    assert cluster_cost_sample(priced_cluster, now=now) == 2  # the nodes and the environment
    assert cluster_cost_sample(priced_cluster, now=now) == 0
    assert cluster_cost_sample(priced_cluster, now=now + timedelta(minutes=20)) == 0  # under half a period
    assert cluster_cost_sample(priced_cluster, now=now + timedelta(days=2)) == 2
    last = CostSample.objects.filter(environment=environment).order_by("-ended_at").first()
    assert last.ended_at - last.started_at == timedelta(hours=2)  # two periods at most, not two days


@pytest.mark.django_db(transaction=True)
def test_concurrent_ticks_sample_once(priced_cluster, users, team, hourly):
    db_environment(users["qa"], team, priced_cluster)
    now = timezone.now()
    results = race(*[lambda: cluster_cost_sample(priced_cluster, now=now)] * 3)
    assert sorted(results) == [0, 0, 2], results
    assert CostSample.objects.filter(cluster=priced_cluster).count() == 2


def test_an_asleep_hour_costs_nothing_and_would_have_cost_its_awake_requests(priced_cluster, users, team, hourly):
    environment = db_environment(users["qa"], team, priced_cluster, status=Environment.ASLEEP)
    cluster_cost_sample(priced_cluster, now=timezone.now())
    sample = pods_sample(environment)
    assert (sample.asleep, sample.pods, sample.cost) == (True, 0, Decimal(0))
    assert sample.would_cost == QA_HOUR  # no awake sample yet: its rendered requests
    row = cost_totals(cost_samples_visible(users["qa"]).filter(environment=environment), by="environment")[0]
    assert (row.saving, row.asleep_hours, row.idle_hours) == (QA_HOUR, 1.0, 0.0)


def test_asleep_would_cost_uses_the_replicas_the_sleep_job_saved(priced_cluster, users, team, hourly):
    environment = db_environment(users["qa"], team, priced_cluster, status=Environment.ASLEEP)
    # The sleep job saved web at 0 replicas: web's requests (100m, 128Mi) are not counted.
    SleepState.objects.create(environment=environment, replicas={"web": 0})
    cluster_cost_sample(priced_cluster, now=timezone.now())
    assert pods_sample(environment).would_cost == QA_HOUR - (Decimal("0.1") * VCPU_HOUR + Decimal("0.125") * GIB_HOUR)


def test_idle_is_awake_without_activity_for_four_hours(priced_cluster, users, team, hourly):
    quiet, busy = (db_environment(users["qa"], team, priced_cluster) for _ in range(2))
    now = timezone.now()
    SleepState.objects.create(environment=quiet, last_activity_at=now - timedelta(hours=5))
    SleepState.objects.create(environment=busy, last_activity_at=now - timedelta(hours=1))
    cluster_cost_sample(priced_cluster, now=now)
    assert (pods_sample(quiet).idle, pods_sample(busy).idle) == (True, False)


def test_idle_follows_the_schedules_idle_hours(priced_cluster, users, team, hourly):
    environment = db_environment(users["qa"], team, priced_cluster)
    SleepSchedule.objects.create(environment=environment, idle_hours=0.5)
    SleepState.objects.create(environment=environment, last_activity_at=timezone.now() - timedelta(hours=1))
    cluster_cost_sample(priced_cluster, now=timezone.now())
    assert pods_sample(environment).idle


def test_an_environment_destroyed_by_expiry_saves_its_awake_cost_to_the_end_of_the_month(
        priced_cluster, users, team, hourly):
    environment = db_environment(users["qa"], team, priced_cluster, status=Environment.DESTROYED, ttl_hours=1)
    expired = datetime(2026, 12, 31, 22, 0, tzinfo=UTC)
    Environment.objects.filter(pk=environment.pk).update(expires_at=expired)
    now = expired + timedelta(minutes=30)
    assert cluster_cost_sample(priced_cluster, now=now) == 2  # the nodes and the saving
    saving = pods_sample(environment)
    assert (saving.started_at, saving.ended_at) == (expired, datetime(2027, 1, 1, tzinfo=UTC))
    assert (saving.cost, saving.would_cost) == (Decimal(0), 2 * QA_HOUR)
    assert cluster_cost_sample(priced_cluster, now=now + timedelta(hours=1)) == 1  # only the nodes: no second saving


def test_s3_bytes_under_the_environments_prefix_are_priced_per_gib_month(priced_cluster, users, team, hourly,
                                                                          s3_bucket, aws_settings):
    environment = db_environment(users["qa"], team, priced_cluster)
    DataStore.objects.create(environment=environment, kind="s3", name="files", database=s3_bucket,
                             prefix=f"{environment.name}/", endpoint_url=aws_settings["AWS_ENDPOINT_URL"])
    s3 = aws.client("s3")
    for key, size in (("a.bin", 1024 ** 2), ("deep/b.bin", 2 * 1024 ** 2)):
        s3.put_object(Bucket=s3_bucket, Key=f"{environment.name}/{key}", Body=b"x" * size)
    s3.put_object(Bucket=s3_bucket, Key="someone-else/c.bin", Body=b"x" * 4096)  # another prefix: not theirs
    # 730 x 1024 per GiB-month = 1 per MiB-hour: 3 MiB for an hour cost exactly 3.
    PriceTable.objects.filter(cluster=priced_cluster).update(storage_gib_month=Decimal(730 * 1024))
    cluster_cost_sample(priced_cluster, now=timezone.now())
    storage = CostSample.objects.get(environment=environment, kind=CostSample.STORAGE)
    assert (storage.bytes, storage.cost, storage.would_cost) == (3 * 1024 ** 2, Decimal(3), Decimal(3))
