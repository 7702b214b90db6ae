"""Figures read when Prometheus scrapes: rows by outcome from the database, queue depth from the broker.

Read at scrape time rather than counted in a process, so they are right however many web and worker
processes there are (each web pod reports the same totals: aggregate them with ``max``, not ``sum``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.apps import apps
from django.conf import settings
from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from .celery_broker import queue_depths

logger = logging.getLogger(__name__)

# (metric, help, model, the field grouped by → label name); every field holds a short fixed list of values.
ROW_FIGURES = [
    ("slipway_rollouts", "Rollouts by the state of their job.", "environments.Rollout",
     {"job__state": "state"}),
    ("slipway_terraform_runs", "Terraform runs by state.", "clusters.TerraformRun", {"state": "state"}),
    ("slipway_data_copies", "Data copies by state.", "migrations_tool.DataCopy", {"state": "state"}),
    ("slipway_jobs", "Jobs by kind and state.", "jobs.Job", {"kind": "kind", "state": "state"}),
]


def row_counts(model_label: str, fields: dict[str, str]) -> list[tuple[list[str], int]]:
    """[(label values, rows)] of ``model_label`` grouped by ``fields``."""
    rows = (apps.get_model(model_label).objects.order_by().values(*fields).annotate(rows=Count("pk")))
    return [([str(row[field]) for field in fields], row["rows"]) for row in rows]


class ScrapeFigures(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, documentation, model_label, fields in ROW_FIGURES:
            family = GaugeMetricFamily(name, documentation, labels=list(fields.values()))
            for labels, rows in row_counts(model_label, fields):
                family.add_metric(labels, rows)
            yield family
        try:
            depths = queue_depths(settings.SLIPWAY_METRICS_QUEUES, settings.SLIPWAY_PROBE_TIMEOUT_SECONDS)
        except Exception as exc:  # a broker outage is /readyz's to report; the other figures still count
            logger.warning("queue depth not read: %s", type(exc).__name__)
            depths = None
        up = GaugeMetricFamily("slipway_celery_broker_up", "1 if the broker answered this scrape, else 0.")
        up.add_metric([], 0 if depths is None else 1)
        yield up
        if depths is not None:
            family = GaugeMetricFamily("slipway_celery_queue_length", "Tasks waiting in each Celery queue.",
                                       labels=["queue"])
            for queue, depth in depths.items():
                family.add_metric([queue], depth)
            yield family


SCRAPE_REGISTRY = CollectorRegistry(auto_describe=False)
SCRAPE_REGISTRY.register(ScrapeFigures())
