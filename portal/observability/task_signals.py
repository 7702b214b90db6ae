"""Celery signal receivers: the request id travels with each task, and tasks are timed and counted.

* ``before_task_publish`` copies the publishing request's id (and user) into the message headers;
  ``task_prerun`` binds them as the task's log context, so every log line of the task carries the
  id of the web request that queued it (the job row keeps it too: ``Job.request_id``). A task with
  no publishing request (beat) is logged under its own task id. Eager tasks run inside the request
  that queued them and keep its context (the log filter adds the task's name).
* ``task_prerun``/``task_postrun``/``task_failure`` feed the task duration and failure metrics.
* ``worker_ready`` starts the worker's metrics server on ``SLIPWAY_WORKER_METRICS_PORT`` (0: none).

Connected when ``portal.celery`` is imported, in web and worker processes alike.
"""

from __future__ import annotations

import logging
import os
import time
from contextvars import Token
from typing import Any

from celery.signals import before_task_publish, task_failure, task_postrun, task_prerun, worker_ready
from django.conf import settings
from prometheus_client import start_http_server

from .log_context import VALID_REQUEST_ID, LogContext, bind, current, unbind, user_name
from .process_metrics import TASK_DEFERRALS, TASK_DURATION, TASK_FAILURES, process_registry

logger = logging.getLogger("slipway.tasks")

REQUEST_ID_HEADER = "slipway_request_id"
USER_HEADER = "slipway_user"

# task id → (start time, log-context token), from prerun to postrun (same thread: Celery runs both
# around the task body).
_running: dict[str, tuple[float, Token | None]] = {}


@before_task_publish.connect
def carry_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    context = current()
    if headers is None or context is None or not context.request_id:
        return
    headers.setdefault(REQUEST_ID_HEADER, context.request_id)
    headers.setdefault(USER_HEADER, user_name(context))


def _header(task: Any, name: str) -> str:
    value = getattr(task.request, name, None) or (getattr(task.request, "headers", None) or {}).get(name)
    return value if isinstance(value, str) else ""


@task_prerun.connect
def task_started(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task is None or task_id is None:
        return
    token = None
    if not task.request.is_eager:
        # An eager task runs inside the request that queued it and keeps its context (and Celery skips
        # task_postrun when an eager task raises into its caller: a binding here could never be undone).
        request_id = _header(task, REQUEST_ID_HEADER)
        if not VALID_REQUEST_ID.match(request_id):
            request_id = task_id  # queued outside any request (beat, a shell)
        token = bind(LogContext(request_id=request_id, task=task.name, user=_header(task, USER_HEADER)[:150]))
    _running[task_id] = (time.perf_counter(), token)
    logger.info("task %s started", task.name)


@task_postrun.connect
def task_finished(task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any) -> None:
    started = _running.pop(task_id, None) if task_id else None
    if started is None or task is None:
        return
    elapsed = time.perf_counter() - started[0]
    if getattr(task.request, "lease_deferred", False):  # it ran no job: a duration would read as one run
        TASK_DEFERRALS.labels(task.name).inc()
    else:
        TASK_DURATION.labels(task.name).observe(elapsed)
    logger.info("task %s %s in %.3f s", task.name, (state or "finished").lower(), elapsed)
    if started[1] is not None:
        unbind(started[1])


@task_failure.connect
def task_failed(sender: Any = None, **_: Any) -> None:
    if sender is not None:
        TASK_FAILURES.labels(sender.name).inc()


@worker_ready.connect
def serve_worker_metrics(sender: Any = None, **_: Any) -> None:
    port = settings.SLIPWAY_WORKER_METRICS_PORT
    if not port:
        return
    prefork = "prefork" in type(getattr(sender, "pool", None)).__module__
    if prefork and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Under the prefork pool the tasks run in child processes; without the directory their numbers
        # stay there and this server shows none of them (the solo and threads pools need none).
        logger.warning("SLIPWAY_WORKER_METRICS_PORT without PROMETHEUS_MULTIPROC_DIR: a prefork worker's "
                       "task figures are not seen by its metrics server")
    try:
        start_http_server(port, registry=process_registry())
    except OSError as exc:
        logger.error("worker metrics not served on port %s: %s", port, exc)
    else:
        logger.info("worker metrics served on :%s/metrics", port)
