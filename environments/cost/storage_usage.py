"""S3 bytes per environment, for cost sampling: the environment's S3 data stores (migrations_tool
DataStore rows, bucket + prefix), listed through the store's own S3 adapter (``migrations_tool.s3_store``,
which goes through ``portal.aws``)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from migrations_tool.models import DataStore
from migrations_tool.s3_store import Side

from ..models import CostSample, Environment
from .prices import Prices, storage_cost

logger = logging.getLogger(__name__)


def s3_bytes_by_environment(environments: Iterable[Environment]) -> dict[int, int]:
    """{environment id: bytes under its S3 stores' prefixes}. A store that cannot be listed is left out
    (logged): its environment's storage is then not billed for that interval rather than guessed."""
    totals: dict[int, int] = {}
    for store in DataStore.objects.filter(environment__in=list(environments), kind="s3", state=DataStore.READY):
        try:
            size = sum(info.size for info in Side(store.store_endpoint(), role="source").listing().values())
        except Exception as exc:  # any S3 error: the other stores and the pods are still sampled
            logger.warning("cost: cannot list S3 store %s: %s", store.pk, type(exc).__name__)
            continue
        totals[store.environment_id] = totals.get(store.environment_id, 0) + size
    return totals


def storage_samples(environments: Iterable[Environment], stored: dict[int, int], prices: Prices, *,
                    start: datetime, end: datetime, seconds: Decimal) -> list[CostSample]:
    """One storage sample (unsaved) per environment with S3 bytes over (start, end], at storage_gib_month."""
    rows = []
    for environment in environments:
        if not stored.get(environment.pk):
            continue
        cost = storage_cost(prices, bytes_stored=stored[environment.pk], seconds=seconds)
        rows.append(CostSample(kind=CostSample.STORAGE, cluster_id=environment.cluster_id, environment=environment,
                               team_id=environment.team_id, owner_id=environment.owner_id, stage=environment.stage,
                               started_at=start, ended_at=end, seconds=float(seconds),
                               bytes=stored[environment.pk], cost=cost, would_cost=cost, currency=prices.currency))
    return rows
