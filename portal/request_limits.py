"""What Slipway refuses before any view runs: request bodies larger than ``SLIPWAY_MAX_REQUEST_BYTES``
(413), and NUL characters in query parameters (400: PostgreSQL cannot hold them in text, so a
filter such as ``?q=%00`` used to end in a 500 from the database driver).

Django limits form fields and ``request.body`` (``DATA_UPLOAD_MAX_MEMORY_SIZE``) but not uploaded
files nor what DRF's parsers read from the stream, and its ASGI handler spools the whole body to
disk before any view runs. Two doors, one limit: ``BoundedBodyASGI`` wraps the ASGI application
(the production server) and stops reading once the limit is passed; ``RequestSizeMiddleware`` covers
WSGI and the test client by the declared Content-Length. (Form fields and API strings refuse NUL
through Django's and DRF's own validators.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from portal.api.errors import error_body


def _message(limit: int) -> str:
    return f"The request body is larger than {limit} bytes, the most Slipway accepts."


def too_large_response(path: str, limit: int) -> HttpResponse:
    """413 in the API's error shape under /api/, a plain sentence elsewhere."""
    if path.startswith("/api/"):
        return JsonResponse(error_body(413, "request_too_large", _message(limit)), status=413)
    return HttpResponse(_message(limit), status=413, content_type="text/plain; charset=utf-8")


def _declared_length(value: str | bytes | None) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0  # as Django reads it: a garbled Content-Length is an empty body


def nul_parameter_response(path: str) -> HttpResponse:
    message = "Query parameters may not contain NUL characters (%00)."
    if path.startswith("/api/"):
        return JsonResponse(error_body(400, "invalid", message), status=400)
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


class RequestBoundsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.SLIPWAY_MAX_REQUEST_BYTES
        if _declared_length(request.META.get("CONTENT_LENGTH")) > limit:
            return too_large_response(request.path, limit)
        if "\x00" in request.META.get("QUERY_STRING", "") or any(
                "\x00" in key or "\x00" in value for key, values in request.GET.lists() for value in values):
            return nul_parameter_response(request.path)
        return self.get_response(request)


class BoundedBodyASGI:
    """ASGI wrapper for HTTP: refuse a declared length over the limit at once; for a streamed body,
    tell the application the client went away once the limit is passed, then answer 413."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = settings.SLIPWAY_MAX_REQUEST_BYTES
        headers = dict(scope.get("headers") or [])
        if _declared_length(headers.get(b"content-length")) > limit:
            return await _send_413(scope, send, limit)
        state = {"read": 0, "over": False, "started": False}

        async def bounded_receive() -> dict:
            message = await receive()
            if message.get("type") == "http.request":
                state["read"] += len(message.get("body", b""))
                if state["read"] > limit:
                    state["over"] = True
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: dict) -> None:
            state["started"] = state["started"] or message.get("type") == "http.response.start"
            await send(message)

        await self.app(scope, bounded_receive, tracking_send)
        if state["over"] and not state["started"]:
            await _send_413(scope, send, limit)


async def _send_413(scope: dict, send: Callable, limit: int) -> None:
    if scope.get("path", "").startswith("/api/"):
        body, kind = json.dumps(error_body(413, "request_too_large", _message(limit))).encode(), b"application/json"
    else:
        body, kind = _message(limit).encode(), b"text/plain; charset=utf-8"
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
