"""Asking the Celery broker whether it answers and how much waits in each queue, through kombu (the
broker's own client, whatever the transport: Redis in production, memory or files in tests and dev)."""

from __future__ import annotations

from django.conf import settings
from kombu import Connection

from portal.celery import app as celery_app


def _connected(timeout: float) -> Connection:
    # The URL from settings each time (not the app's cached configuration): what /readyz reports is
    # what the settings say now.
    connection = celery_app.connection_for_read(url=settings.CELERY_BROKER_URL, connect_timeout=timeout)
    # One attempt: kombu's default is to retry for as long as the transport's policy says (a probe
    # or a scrape must answer, not wait for the broker to come back).
    connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
    return connection


def broker_ping(timeout: float) -> None:
    """Raise unless the broker accepts a connection (on Redis, kombu PINGs when it opens a channel)."""
    with _connected(timeout) as connection:
        connection.default_channel  # noqa: B018 - opening the channel is the round trip


def queue_depths(queues: list[str], timeout: float) -> dict[str, int]:
    """Messages waiting in each named queue."""
    with _connected(timeout) as connection:
        channel = connection.default_channel
        # A declare is idempotent and answers the message count (on Redis: all its priority lists).
        return {queue: channel.queue_declare(queue=queue).message_count for queue in queues}
