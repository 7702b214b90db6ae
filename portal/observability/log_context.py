"""What every log line says about where it comes from: the request id, the user, the path or the task.

A context variable, not a thread-local: daphne serves requests on an event loop and hands sync code
to worker threads (asgiref copies the context into them), and a Celery task sets its own for the
duration of the task. The web middleware (``portal.request_context``) and the task signals
(``portal.observability.task_signals``) bind it; the log filter (``json_logs``) reads it.
"""

from __future__ import annotations

import re
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from django.utils.functional import LazyObject

# Short and made of characters safe in a header, a log line and a URL query (what proxies generate:
# hex, UUIDs, ingress-nginx's $req_id, AWS trace ids).
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@dataclass(frozen=True)
class LogContext:
    request_id: str | None
    path: str = ""
    task: str = ""
    user: str = ""
    request: Any = None  # the web request, for its user once authentication has resolved it


_current: ContextVar[LogContext | None] = ContextVar("slipway_log_context", default=None)


def bind(context: LogContext) -> Token:
    """Make ``context`` the current one; give the token back to :func:`unbind`."""
    return _current.set(context)


def unbind(token: Token) -> None:
    _current.reset(token)


def current() -> LogContext | None:
    return _current.get()


def current_request_id() -> str | None:
    context = _current.get()
    return context.request_id if context else None


def user_name(context: LogContext) -> str:
    """The signed-in user's name, if already known; never a database query (a log line about a
    database outage must not need the database). DRF replaces ``request.user`` with the token's
    or session's user; Django's lazy user is read only once the auth middleware has evaluated it."""
    if context.user or context.request is None:
        return context.user
    attributes = vars(context.request)
    user = attributes.get("user")
    if isinstance(user, LazyObject):
        user = attributes.get("_cached_user")  # where django.contrib.auth keeps the evaluated user
    if user is None or not getattr(user, "is_authenticated", False):
        return ""
    return user.get_username()
