"""One JSON object per log line (``SLIPWAY_LOG_FORMAT=json``), for log collectors.

Fields: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``request_id``, ``user``,
``path`` (web requests, no query string) or ``task`` (Celery tasks), and ``exception`` when there is
one. Secrets are masked before a record reaches here: ``portal.redaction`` redacts every record's
message and traceback where the record is made (and the console handler's ``redact`` filter again).
"""

from __future__ import annotations

import copy
import json
import logging
from datetime import UTC, datetime
from typing import Any

from celery import current_task
from django.core.exceptions import ImproperlyConfigured

from portal.redaction import redact

from .log_context import LogContext, current, user_name


def _from_record(record: logging.LogRecord) -> LogContext | None:
    """Django logs a 4xx/5xx response ("Unauthorized: /metrics") after the middleware chain has returned,
    outside the request's context; the record carries the request itself."""
    request = getattr(record, "request", None)
    request_id = getattr(request, "request_id", None)
    if not isinstance(request_id, str):
        return None
    return LogContext(request_id=request_id, path=getattr(request, "path", ""), request=request)


class LogContextFilter(logging.Filter):
    """Copies the current request id, user, path and task onto each record (text formats may use them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current() or _from_record(record)
        found = {"request_id": context.request_id if context else None,
                 "user": user_name(context) if context else "",
                 "path": context.path if context else "",
                 # An eager task runs in the request's context: Celery's task stack names it.
                 "task": (context.task if context else "") or getattr(current_task, "name", "") or ""}
        for field, value in found.items():
            if not getattr(record, field, None):  # a line may carry its own (``extra=``), as the access line does
                setattr(record, field, value)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "user": getattr(record, "user", ""),
        }
        for field in ("path", "task"):
            if getattr(record, field, ""):
                line[field] = getattr(record, field)
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(self.formatException(record.exc_info))
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


def logging_settings(base: dict[str, Any], log_format: str) -> dict[str, Any]:
    """``base`` (the LOGGING setting) with the log-context filter on the console handler and, for
    ``json``, the JSON formatter. ``slipway.access`` (a line per request) and ``slipway.tasks`` (a line at
    each task's start and end) log at INFO only with JSON: in text mode daphne and Celery print their own."""
    if log_format not in ("text", "json"):
        raise ImproperlyConfigured(f"SLIPWAY_LOG_FORMAT must be text or json, not {log_format[:20]!r}")
    config = copy.deepcopy(base)
    config["filters"]["log_context"] = {"()": LogContextFilter}
    config["formatters"]["json"] = {"()": JsonFormatter}
    console = config["handlers"]["console"]
    console["filters"] = [*console.get("filters", []), "log_context"]
    if log_format == "json":
        console["formatter"] = "json"
    for name in ("slipway.access", "slipway.tasks"):
        config["loggers"][name] = {"level": "INFO" if log_format == "json" else "WARNING"}
    return config
