"""Readiness: may this web process receive traffic? The database, the Celery broker and the channel
layer must each answer within ``SLIPWAY_PROBE_TIMEOUT_SECONDS`` (2 s by default).

Each check runs in its own daemon thread and is waited for at most the timeout, so a server that
accepts a connection and never answers cannot hang the probe (a late thread finishes on its own).
Failures are named with a sentence and the exception's type only: an exception's text may carry a
host, a URL or a password, and the probe is unauthenticated.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers
from django.conf import settings
from django.db import connections

from .celery_broker import broker_ping


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[float], None]
    failure: str  # what a person reads when it fails


def database(timeout: float) -> None:
    connection = connections["default"]  # this thread's own connection, closed after the check
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()


def redis_broker(timeout: float) -> None:
    broker_ping(timeout)


async def _channel_round_trip(timeout: float) -> None:
    # A layer of its own: the process-wide one keeps connection pools per event loop, and this loop
    # ends with the check.
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    try:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "readyz.ping"})
        await asyncio.wait_for(layer.receive(channel), timeout)
    finally:
        close = getattr(layer, "close_pools", None)
        if close is not None:
            await close()


def channel_layer(timeout: float) -> None:
    asyncio.run(_channel_round_trip(timeout))


CHECKS = [
    Check("database", database, "The database did not answer SELECT 1."),
    Check("redis broker", redis_broker, "The Celery broker (Redis) did not accept a connection and PING."),
    Check("channel layer", channel_layer, "The channel layer did not deliver a message to itself."),
]


def _run(check: Check, timeout: float, results: dict[str, str]) -> None:
    try:
        check.run(timeout)
    except Exception as exc:
        results[check.name] = f"{check.failure} ({type(exc).__name__})"
    else:
        results[check.name] = "ok"


def readiness(checks: list[Check] | None = None) -> dict[str, str]:
    """{check name: "ok" or the sentence saying what failed}, all checks run at once."""
    timeout = settings.SLIPWAY_PROBE_TIMEOUT_SECONDS
    results: dict[str, str] = {}
    threads = []
    for check in checks or CHECKS:
        thread = threading.Thread(target=_run, args=(check, timeout, results), daemon=True,
                                  name=f"readyz-{check.name}")
        thread.start()
        threads.append((check, thread))
    deadline = time.monotonic() + timeout + 0.5  # the checks' own timeouts fire first; this is the backstop
    for check, thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
        if check.name not in results:
            results[check.name] = f"{check.failure} (no answer within {timeout:g} s)"
    return {check.name: results[check.name] for check in checks or CHECKS}
