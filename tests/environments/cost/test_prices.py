from decimal import Decimal

import pytest

from clusters.models import Cluster
from environments.cost.prices import hourly_cost, prices_for, storage_cost
from environments.models import PriceTable


@pytest.fixture
def cluster(db):
    return Cluster.objects.create(name="cost-prices", kind="local")


def test_a_cluster_without_a_table_gets_the_public_defaults(cluster):
    prices = prices_for(cluster)
    assert not prices.from_table
    assert (prices.currency, prices.vcpu_hour, prices.gib_hour) == ("USD", Decimal("0.04048"), Decimal("0.004445"))
    assert prices.node_hour("m5.large") == Decimal("0.096")
    assert prices.node_hour("") == Decimal("0.096")  # no instance-type label: the default type
    assert "2026-12-05" in prices.source and "aws.amazon.com" in prices.source


def test_a_clusters_table_wins_and_keeps_defaults_for_types_it_does_not_list(cluster):
    PriceTable.objects.create(cluster=cluster, currency="EUR", vcpu_hour=Decimal("0.05"), gib_hour=Decimal("0.005"),
                              node_hours={"kwok.node": "0.5"}, default_instance_type="kwok.node",
                              storage_gib_month=Decimal("0.02"))
    prices = prices_for(cluster.pk)
    assert prices.from_table and prices.currency == "EUR"
    assert prices.node_hour("kwok.node") == Decimal("0.5")
    assert prices.node_hour("unknown.type") == Decimal("0.5")
    assert prices.node_hour("t3.medium") == Decimal("0.0416")


def test_hourly_cost_is_exact_decimal_arithmetic(cluster):
    prices = prices_for(cluster)
    # 0.1 vCPU + 0.125 GiB: 0.004048 + 0.000555625, no float noise.
    assert hourly_cost(prices, cpu_cores=0.1, memory_gib=0.125) == Decimal("0.004603625")
    assert hourly_cost(prices, cpu_cores=2, memory_gib=8) == Decimal("0.11652")


def test_storage_is_the_monthly_price_spread_over_730_hours(cluster):
    prices = prices_for(cluster)
    month = storage_cost(prices, bytes_stored=1024 ** 3, seconds=730 * 3600)
    assert month == Decimal("0.023")
