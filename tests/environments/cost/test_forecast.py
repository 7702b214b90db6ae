"""The forecast at creation: rendered requests x the cluster's prices, and the team's sleep schedule."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from clusters.models import Cluster
from environments.cost.forecast import forecast_for_new_environment
from environments.models import Blueprint, SleepSchedule
from environments.sleep.schedule import awake_fraction


@pytest.fixture
def shop(db):
    call_command("seed_demo_blueprint", verbosity=0)
    return Blueprint.objects.get(name="shop")


def test_with_the_teams_night_and_weekend_schedule(shop, team):
    cluster = Cluster.objects.create(name="cost-forecast", kind="local")
    running = forecast_for_new_environment(cluster=cluster, blueprint=shop, stage="qa", versions={}, team=team)
    assert (running.awake_fraction, running.per_day_with_schedule) == (1.0, running.per_day_running)
    assert running.sentence == "about $0.51/day running (no sleep schedule applies)."

    schedule = SleepSchedule.objects.create(team=team, stage="qa", sleep_cron="0 20 * * 1-5", wake_cron="0 8 * * 1-5",
                                            timezone="UTC")
    nights = forecast_for_new_environment(cluster=cluster, blueprint=shop, stage="qa", versions={}, team=team)
    assert nights.awake_fraction == awake_fraction(schedule) == pytest.approx(60 / 168)
    # The shop's MariaDB (100m, 256Mi) and Redis (50m, 64Mi) may not sleep: they run all day at the
    # default prices ($0.04048 per vCPU-hour, $0.004445 per GiB-hour); the rest runs 36 % of the week.
    staying = (Decimal("0.15") * Decimal("0.04048") + Decimal("0.3125") * Decimal("0.004445")) * 24
    fraction = Decimal(repr(nights.awake_fraction))
    assert nights.per_day_with_schedule == (nights.per_day_running - staying) * fraction + staying
    assert nights.sentence.startswith("about $0.51/day running; with the sleep schedule (sleeps 0 20 * * 1-5, "
                                      "wakes 0 8 * * 1-5, UTC: awake 36% of the week), about $0.30/day.")

    backing = [{**b, "may_sleep": True} for b in shop.backing_services]
    type(shop).objects.filter(pk=shop.pk).update(backing_services=backing)
    shop.refresh_from_db()
    all_sleep = forecast_for_new_environment(cluster=cluster, blueprint=shop, stage="qa", versions={}, team=team)
    assert all_sleep.per_day_with_schedule == all_sleep.per_day_running * fraction


def test_production_overrides_add_replicas(shop, team):
    cluster = Cluster.objects.create(name="cost-forecast-prod", kind="local")
    prod = forecast_for_new_environment(cluster=cluster, blueprint=shop, stage="prod", versions={}, team=team)
    assert (prod.cpu_cores, prod.memory_gib) == (Decimal("0.6"), Decimal("0.75"))
