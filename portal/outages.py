"""While PostgreSQL or the task queue cannot be reached: pages and API calls answer 503 with one sentence.

A database outage is neither the caller's mistake nor a bug to log with a stack trace: the person is
told to try again in a minute, the API answers in its error shape, and nothing names the database's
host or credentials. Nothing here keeps state: Django opens a fresh connection for the next request
(``CONN_HEALTH_CHECKS`` for persistent ones), so the same process recovers once the database is back.

The task queue (Redis) is told apart: ``QueueUnavailable`` is raised by ``portal.jobs.services`` when
a job's task could not be sent within its retry bound (that job is failed with the reason, never left
queued without a task); it answers 503 with its own sentence the same way.

Two doors, because Django reports an exception in two ways: ``OutageMiddleware`` sees the
ones a view raises (under ASGI too), ``outage_aware`` wraps ``handler500`` for those a middleware
raises (a session or the signed-in user loaded before any view runs). Websockets have a third,
``DatabaseOutageWebsocket``: a stream that cannot load its session or job closes with 4503 (try again
later) instead of a traceback in the server's log.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from portal.upstream import ServiceUnavailable

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
MESSAGE = "Slipway cannot reach its database right now; try again in a minute."
QUEUE_MESSAGE = ("Slipway cannot reach its task queue right now, so nothing was started (the job is marked "
                 "failed); try again in a minute.")


class QueueUnavailable(ServiceUnavailable):
    """The job queue (the Celery broker) refused or did not answer within the publish retry bound."""

    def __init__(self) -> None:
        super().__init__(QUEUE_MESSAGE)
RETRY_AFTER_SECONDS = 60


def is_database_outage(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what caused it) says the database did not answer."""
    while exc is not None:
        if isinstance(exc, DATABASE_ERRORS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def outage_response(request: HttpRequest, *, queue: bool = False) -> HttpResponse:
    """503 for ``request``: JSON in the API's error shape under /api/, a short page (no database) elsewhere."""
    what, code, message = ("task queue", "queue_unavailable", QUEUE_MESSAGE) if queue else \
        ("database", "database_unavailable", MESSAGE)
    # One line, no traceback: the outage is logged once per request, not as an error in Slipway.
    logger.warning("%s unreachable: %s %s answered 503", what, request.method, request.path)
    if request.path.startswith("/api/"):
        body = {"error": {"status": 503, "code": code, "message": message}}
        response: HttpResponse = JsonResponse(body, status=503)
    else:
        response = HttpResponse(render_to_string("503_unavailable.html", {"message": message}), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response._has_been_logged = True  # Django's log_response would add an error with the traceback
    return response


class OutageMiddleware:
    """Turns a view's database connection error or ``QueueUnavailable`` into ``outage_response``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, QueueUnavailable):
            return outage_response(request, queue=True)
        return outage_response(request) if is_database_outage(exception) else None


def outage_aware(handler500: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """``handler500`` that answers ``outage_response`` when the error being handled is a database outage.

    Django calls its 500 handler inside the ``except`` block of the middleware that raised, so the
    exception is still ``sys.exc_info()`` there.
    """

    def view(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if is_database_outage(sys.exc_info()[1]):
            return outage_response(request)
        return handler500(request, *args, **kwargs)

    return view


# 503 in the application range, beside portal.streaming's 4403/4404/4408: a server may send only 1000
# or 3000-4999 (1013, "try again later", is refused by daphne's autobahn). The pages' stream scripts
# reconnect with back-off on any code but 4403/4404.
CLOSE_UNAVAILABLE = 4503
AsgiApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


class DatabaseOutageWebsocket:
    """ASGI wrapper of the websocket stack: a database outage while a stream opens (its session, its
    user, its job) closes the socket with 4503 and one log line; the pages reconnect after it."""

    def __init__(self, app: AsgiApp) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable[[], Awaitable[dict]],
                       send: Callable[[dict], Awaitable[None]]) -> None:
        accepted = closed = False

        async def tracked_send(message: dict[str, Any]) -> None:
            nonlocal accepted, closed
            accepted = accepted or message["type"] == "websocket.accept"
            closed = closed or message["type"] == "websocket.close"
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except Exception as exc:
            if not is_database_outage(exc) or closed:
                raise
            logger.warning("database unreachable: websocket %s closed with %s", scope.get("path"),
                           CLOSE_UNAVAILABLE)
            if not accepted:
                # A close before the handshake is accepted can carry no code (the server answers 403):
                # accept, then close, so the page learns why.
                await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": CLOSE_UNAVAILABLE})
