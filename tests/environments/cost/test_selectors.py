from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from clusters.models import Cluster
from environments.cost.selectors import cost_samples_filtered, cost_samples_visible, cost_total, cost_totals
from environments.models import CostSample
from tests.factories import TeamFactory, UserFactory

T0 = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)


def sample(cluster, *, team=None, owner=None, stage="qa", start=T0, hours=1, cost="1", would=None, kind="pods",
           asleep=False, idle=False):
    return CostSample.objects.create(kind=kind, cluster=cluster, team=team, owner=owner, stage=stage,
                                     started_at=start, ended_at=start + timedelta(hours=hours), seconds=hours * 3600,
                                     cost=Decimal(cost), would_cost=Decimal(would or cost), asleep=asleep, idle=idle)


@pytest.fixture
def figures(users, team):
    cluster = Cluster.objects.create(name="cost-selectors", kind="local")
    other = TeamFactory(slug="cost-other", name="Other")
    stranger = UserFactory(username="cost-stranger")
    sample(cluster, team=team, owner=users["developer"], cost="2")
    sample(cluster, team=team, owner=users["developer"], start=T0 + timedelta(hours=1), cost="0", would="3",
           asleep=True)
    sample(cluster, team=team, owner=users["qa"], start=T0 + timedelta(hours=2), cost="1.5", idle=True)
    sample(cluster, team=other, owner=stranger, stage="dev", cost="10")
    sample(cluster, kind="nodes", stage="", cost="100")  # the cluster's bill: not an environment's share
    return cluster


def test_totals_by_team_count_asleep_and_idle_hours_and_the_saving(figures, users):
    rows = {row.label: row for row in cost_totals(cost_samples_visible(users["admin"]), by="team")}
    assert set(rows) == {"Payments", "Other"}
    payments = rows["Payments"]
    assert (payments.cost, payments.would_cost, payments.saving) == (Decimal("3.5"), Decimal("6.5"), Decimal("3"))
    assert (payments.asleep_hours, payments.idle_hours, payments.currency) == (1.0, 1.0, "USD")


def test_developers_see_their_teams_samples_only(figures, users):
    visible = cost_samples_visible(users["developer"])
    assert {row.label for row in cost_totals(visible, by="team")} == {"Payments"}
    assert not visible.filter(kind="nodes").exists()
    assert not cost_samples_visible(users["outsider"]).exists()


def test_totals_by_month_and_filters(figures, users):
    samples = cost_samples_visible(users["manager"])
    assert [(row.key, row.cost) for row in cost_totals(samples, by="month")] == [
        ("2026-12", Decimal("1.5")), ("2026-11", Decimal("12"))]
    november = cost_samples_filtered(samples, {"month": "2026-11", "stage": "qa"})
    assert cost_total(november).cost == Decimal("2")
    assert cost_total(samples, kinds=None).cost == Decimal("113.5")
    with pytest.raises(ValueError, match="does not match format"):
        cost_samples_filtered(samples, {"month": "november"})
    with pytest.raises(ValueError, match="cannot group costs by"):
        cost_totals(samples, by="colour")


def test_totals_by_owner_stage_cluster(figures, users):
    samples = cost_samples_visible(users["admin"])
    assert [row.label for row in cost_totals(samples, by="owner")] == ["cost-stranger", "developer", "qa"]
    assert [(row.key, row.cost) for row in cost_totals(samples, by="stage")] == [
        ("dev", Decimal("10")), ("qa", Decimal("3.5"))]
    assert [(row.label, row.cost) for row in cost_totals(samples, by="cluster", kinds=None)] == [
        ("cost-selectors", Decimal("113.5"))]
