"""What an hour of CPU, memory and a node costs on a cluster: its PriceTable, else public AWS prices.

Defaults (read 2026-12-05; on-demand, us-east-1, Linux, USD):
- vCPU-hour and GiB-hour are AWS Fargate's published Linux/x86 rates,
  https://aws.amazon.com/fargate/pricing/ ($0.04048 per vCPU-hour, $0.004445 per GB-hour). Fargate
  prices exactly what Slipway samples (requested vCPU and memory per pod), so a pod's share needs no
  invented split of an instance's price.
- Node-hours are EC2's on-demand prices, https://aws.amazon.com/ec2/pricing/on-demand/.
- S3 Standard storage, first 50 TB: $0.023 per GB-month, https://aws.amazon.com/s3/pricing/.
A Platform admin overrides any of them per cluster (the cluster's price table page or the API).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..models import PriceTable

DEFAULT_SOURCE = ("AWS on-demand prices, us-east-1, Linux, read 2026-12-05: "
                  "https://aws.amazon.com/fargate/pricing/ (vCPU, GiB), "
                  "https://aws.amazon.com/ec2/pricing/on-demand/ (nodes), https://aws.amazon.com/s3/pricing/")
DEFAULT_CURRENCY = "USD"
DEFAULT_VCPU_HOUR = Decimal("0.04048")
DEFAULT_GIB_HOUR = Decimal("0.004445")
DEFAULT_STORAGE_GIB_MONTH = Decimal("0.023")
DEFAULT_INSTANCE_TYPE = "m5.large"
# Per node-hour, on-demand, us-east-1, Linux (https://aws.amazon.com/ec2/pricing/on-demand/, read 2026-12-05).
DEFAULT_NODE_HOURS: dict[str, Decimal] = {
    "t3.small": Decimal("0.0208"),
    "t3.medium": Decimal("0.0416"),
    "t3.large": Decimal("0.0832"),
    "t3.xlarge": Decimal("0.1664"),
    "m5.large": Decimal("0.096"),
    "m5.xlarge": Decimal("0.192"),
    "m5.2xlarge": Decimal("0.384"),
    "m6i.large": Decimal("0.096"),
    "m6i.xlarge": Decimal("0.192"),
    "m6i.2xlarge": Decimal("0.384"),
    "c5.large": Decimal("0.085"),
    "c5.xlarge": Decimal("0.17"),
    "r5.large": Decimal("0.126"),
    "r5.xlarge": Decimal("0.252"),
}
GIB = 1024 ** 3
HOURS_PER_MONTH = Decimal("730")  # AWS's own convention for monthly prices (24 x 365 / 12)


@dataclass(frozen=True)
class Prices:
    """The prices that apply on one cluster. All amounts are Decimals in ``currency``."""

    currency: str
    vcpu_hour: Decimal
    gib_hour: Decimal
    storage_gib_month: Decimal
    node_hours: dict[str, Decimal] = field(default_factory=dict)
    default_instance_type: str = DEFAULT_INSTANCE_TYPE
    source: str = ""
    from_table: bool = False  # False: the public defaults (the cluster has no PriceTable)

    def node_hour(self, instance_type: str) -> Decimal:
        """The price of one node-hour of ``instance_type``; an unknown or empty type is priced as the
        default type (a node without the instance-type label, e.g. a local cluster's)."""
        if instance_type in self.node_hours:
            return self.node_hours[instance_type]
        return self.node_hours.get(self.default_instance_type, Decimal(0))


def default_prices() -> Prices:
    """The public AWS defaults (see the module's docstring for their sources)."""
    return Prices(currency=DEFAULT_CURRENCY, vcpu_hour=DEFAULT_VCPU_HOUR, gib_hour=DEFAULT_GIB_HOUR,
                  storage_gib_month=DEFAULT_STORAGE_GIB_MONTH, node_hours=dict(DEFAULT_NODE_HOURS),
                  default_instance_type=DEFAULT_INSTANCE_TYPE, source=DEFAULT_SOURCE)


def prices_from_table(table: PriceTable) -> Prices:
    """A cluster's own PriceTable as Prices; node types it does not list keep their default price."""
    node_hours = dict(DEFAULT_NODE_HOURS)
    node_hours.update({name: Decimal(str(value)) for name, value in (table.node_hours or {}).items()})
    return Prices(currency=table.currency, vcpu_hour=table.vcpu_hour, gib_hour=table.gib_hour,
                  storage_gib_month=table.storage_gib_month, node_hours=node_hours,
                  default_instance_type=table.default_instance_type or DEFAULT_INSTANCE_TYPE,
                  source=table.source, from_table=True)


def prices_for(cluster: Any) -> Prices:
    """The prices on ``cluster`` (a Cluster or its id): its PriceTable, else the public defaults."""
    cluster_id = getattr(cluster, "pk", cluster)
    table = PriceTable.objects.filter(cluster_id=cluster_id).first()
    return prices_from_table(table) if table is not None else default_prices()


def prices_of_loaded(cluster: Any) -> Prices:
    """``prices_for`` a Cluster loaded with ``select_related("price_table")``: no query (for lists)."""
    table = getattr(cluster, "price_table", None)  # a missing one-to-one raises an AttributeError subclass
    return prices_from_table(table) if table is not None else default_prices()


def exact(value: float | int | Decimal) -> Decimal:
    """A float as the Decimal of its shortest repr (0.1 -> Decimal("0.1"), not 0.1000000000000000055...)."""
    return value if isinstance(value, Decimal) else Decimal(repr(value))


def hourly_cost(prices: Prices, *, cpu_cores: float, memory_gib: float) -> Decimal:
    """What ``cpu_cores`` vCPU and ``memory_gib`` GiB of requests cost per hour at ``prices`` (exact)."""
    return exact(cpu_cores) * prices.vcpu_hour + exact(memory_gib) * prices.gib_hour


def storage_cost(prices: Prices, *, bytes_stored: int, seconds: float) -> Decimal:
    """What ``bytes_stored`` of S3 cost over ``seconds`` (the monthly price spread over 730 hours)."""
    return (Decimal(bytes_stored) / GIB) * prices.storage_gib_month * exact(seconds) / (HOURS_PER_MONTH * 3600)
