"""Gives every request an id and its client address, for the audit trail and the sign-in lockout.

The client address is ``REMOTE_ADDR``; behind ``SLIPWAY_TRUSTED_PROXIES`` reverse proxies it is the
address the outermost trusted proxy saw, read from the right end of X-Forwarded-For. Entries
further left were written by the client and are never believed. The audit trail, django-axes'
lockout, DRF's throttles and the websockets all take the address from here.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from portal.observability.log_context import VALID_REQUEST_ID, LogContext, bind, unbind


def _valid_ip(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def forwarded_client(remote_addr: str | None, forwarded_for: str | None, trusted_proxies: int) -> str | None:
    """The client's address given the socket peer, X-Forwarded-For and the number of trusted proxies.

    Each trusted proxy appends the address it saw, so with N proxies the hop N places left of the
    peer is the client as the outermost proxy saw it (the leftmost hop if the chain is shorter:
    every hop in it was then written by a trusted proxy). Returns None for no valid address.
    """
    hops = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()] if trusted_proxies else []
    chain = [*hops, remote_addr or ""]
    candidate = chain[max(len(chain) - 1 - trusted_proxies, 0)]
    # A garbled hop (a proxy misconfigured to pass the client's text) must not reach an IP column.
    return _valid_ip(candidate) or _valid_ip(remote_addr)


def source_ip(request: Any) -> str | None:
    """The client address of a Django (or DRF) request; see ``forwarded_client``."""
    return forwarded_client(request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR"),
                            settings.SLIPWAY_TRUSTED_PROXIES)


def scope_source_ip(scope: dict[str, Any]) -> str | None:
    """The client address of an ASGI (websocket) scope, by the same rule as ``source_ip``."""
    client = scope.get("client") or (None, None)
    headers: Iterable[tuple[bytes, bytes]] = scope.get("headers") or ()
    forwarded = ",".join(value.decode("latin-1") for name, value in headers if name.lower() == b"x-forwarded-for")
    return forwarded_client(client[0], forwarded, settings.SLIPWAY_TRUSTED_PROXIES)


def incoming_request_id(header: str) -> str:
    """The request id: a trusted proxy's X-Request-ID when one is configured, else a new one.

    Without a proxy the header is the client's own text, and an unauthenticated client could
    file its requests in the audit trail under someone else's id.
    """
    if settings.SLIPWAY_TRUSTED_PROXIES and VALID_REQUEST_ID.match(header):
        return header
    return uuid.uuid4().hex


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = incoming_request_id(request.headers.get("X-Request-ID", ""))
        # Every log line of the request (and of the tasks it queues) carries the id: see portal.observability.
        token = bind(LogContext(request_id=request.request_id, path=request.path, request=request))
        try:
            response = self.get_response(request)
        finally:
            unbind(token)
        response["X-Request-ID"] = request.request_id
        return response
