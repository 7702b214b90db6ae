"""The metrics each process counts itself: HTTP requests, Celery tasks, open websockets.

Where the numbers reach Prometheus: every web process serves ``/metrics`` (its own requests and
websockets, plus the database and queue figures read at scrape time, see ``scrape_figures``); every
Celery worker serves its task figures on ``SLIPWAY_WORKER_METRICS_PORT`` (``task_signals``). Each pod
is scraped on its own, so no process has to collect another's numbers. A worker with the prefork pool
runs tasks in child processes: with ``PROMETHEUS_MULTIPROC_DIR`` set (an empty, pod-local directory,
set before the process starts) prometheus_client keeps every child's numbers in files there and the
worker's metrics server adds them up.

Labels are bounded: a view's URL name (never the raw path), a task's registered name, a stream kind.
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.multiprocess import MultiProcessCollector

HTTP_REQUESTS = Counter("slipway_http_requests", "HTTP requests answered, by view, method and status.",
                        ["view", "method", "status"])
HTTP_DURATION = Histogram("slipway_http_request_duration_seconds", "Time to answer an HTTP request, by view.",
                          ["view"])
TASK_DURATION = Histogram("slipway_celery_task_duration_seconds", "Time a Celery task ran, by task name.",
                          ["task"], buckets=(0.05, 0.25, 1, 5, 15, 60, 300, 900, 3600, float("inf")))
TASK_FAILURES = Counter("slipway_celery_task_failures", "Celery tasks that raised, by task name.", ["task"])
TASK_DEFERRALS = Counter("slipway_celery_task_deferrals",
                         "Deliveries that found their job running under another delivery's lease and left it to "
                         "that one (sent again for later), by task name; not counted in the durations.", ["task"])
WEBSOCKETS = Gauge("slipway_websocket_connections", "Open websocket connections, by stream.", ["stream"],
                   multiprocess_mode="livesum")

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str | None) -> str:
    """A client may send any method name; only the standard ones become label values."""
    return method if method in METHODS else "other"


def process_registry() -> CollectorRegistry:
    """This process's figures, or every process's under ``PROMETHEUS_MULTIPROC_DIR`` when set."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return registry
