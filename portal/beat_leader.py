"""One Celery beat at a time: a leader lease in Redis, so two beats never publish the same tick twice.

Several beats may run (a rolling deploy overlaps two; a second one is started by mistake, or for
fail-over). Each would publish every periodic task on its own schedule, so every tick would run
twice. ``LeaderScheduler`` ticks only while it holds a lease in the broker's Redis:

* taken with ``SET key token NX PX ttl`` (only if nobody holds it),
* renewed on every tick, at least every third of the lease, by a compare-and-extend script (only
  the holder's own token extends it: a beat that stalled past its lease cannot steal it back),
* released on a clean shutdown (compare-and-delete), so the stand-by takes over at its next retry;
  a leader killed outright is replaced once its lease runs out (``SLIPWAY_BEAT_LOCK_SECONDS``).

A stand-by retries ten times per lease, so it takes over within about one lease after the leader
dies. A take-over may publish a task the old leader had just published (the new leader's schedule
file has its own last-run times): periodic tasks stay idempotent for that reason.

Without a Redis broker (a laptop on the filesystem transport) there is nothing to share a lease
through: the scheduler runs as Celery's own ``PersistentScheduler`` and says so once.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from typing import Any

from celery.beat import PersistentScheduler
from django.conf import settings
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Extend (or delete) the lease only while it is still ours: a plain PEXPIRE/DEL could extend or
# drop the lease another beat took after ours ran out.
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


class LeaderLease:
    """A lease on ``key`` in Redis held with a random token; every method is safe to call repeatedly.

    ``hold()`` takes the lease if it is free or renews it if it is ours, and says whether we hold it
    now; ``release()`` gives it up only if it is still ours. Redis errors propagate to the caller.
    """

    def __init__(self, client: Any, key: str, *, seconds: float) -> None:
        self.client, self.key = client, key
        self.ttl_ms = max(1, int(seconds * 1000))
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
        self.held = False

    def hold(self) -> bool:
        if self.held and self.client.eval(RENEW, 1, self.key, self.token, self.ttl_ms):
            return True
        self.held = bool(self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))
        return self.held

    def release(self) -> None:
        if self.held:
            self.client.eval(RELEASE, 1, self.key, self.token)
        self.held = False

    def holder(self) -> str:
        value = self.client.get(self.key)
        return value.decode() if isinstance(value, bytes) else (value or "")


class LeaderScheduler(PersistentScheduler):
    """Celery's persistent scheduler, ticking only while this beat holds the leader lease."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.lease_seconds = float(settings.SLIPWAY_BEAT_LOCK_SECONDS)
        self.lease: LeaderLease | None = None
        self._lease_connection = None
        self._warned = self._told_standing_by = False
        super().__init__(*args, **kwargs)

    def _the_lease(self) -> LeaderLease:
        if self.lease is None:
            # The broker's own connection (kombu is Slipway's adapter to its Redis): no second client.
            connection = self.app.connection_for_write()
            try:
                with connection.default_channel.conn_or_acquire() as client:
                    self.lease = LeaderLease(client, settings.SLIPWAY_BEAT_LOCK_KEY, seconds=self.lease_seconds)
            except BaseException:
                connection.release()
                raise
            self._lease_connection = connection
        return self.lease

    def is_leader(self) -> bool:
        """Take or renew the lease; log every change of leadership. Redis unreachable means not leading."""
        if not self.app.conf.broker_url.startswith(("redis://", "rediss://")):
            if not self._warned:
                logger.info("beat: the broker is not Redis, so there is no leader lock: run one beat only")
                self._warned = True
            return True
        was, unreachable = self.lease is not None and self.lease.held, False
        try:
            lease = self._the_lease()
            now = lease.hold()
        except (RedisError, OperationalError, OSError) as exc:
            if self.lease is not None:
                self.lease.held = False
            now, unreachable = False, True
            logger.warning("beat: cannot reach Redis for the leader lock (%s); not publishing until it can", exc)
        if now and not was:
            logger.info("beat: this beat (%s) is now the leader and publishes the periodic tasks", lease.token)
        elif was and not now:
            logger.warning("beat: this beat (%s) lost the leader lock; standing by", self.lease.token)
        elif not now and not unreachable and not self._told_standing_by:
            logger.info("beat: another beat leads (%s); this one stands by and retries every %.1fs",
                        self._holder(self.lease), self.retry_seconds)
            self._told_standing_by = True
        return now

    @property
    def retry_seconds(self) -> float:
        return self.lease_seconds / 10

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self.is_leader():
            return self.retry_seconds
        # Come back before a third of the lease has passed, whatever the next task's time.
        return min(super().tick(*args, **kwargs), self.lease_seconds / 3)

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.lease is not None and self.lease.held:
                try:
                    self.lease.release()
                    logger.info("beat: stopped; released the leader lock (%s)", self.lease.token)
                except RedisError as exc:  # the lease runs out by itself
                    logger.warning("beat: could not release the leader lock (%s); it expires in %.0fs",
                                   exc, self.lease_seconds)
            if self._lease_connection is not None:
                self._lease_connection.release()

    @staticmethod
    def _holder(lease: LeaderLease) -> str:
        try:
            return lease.holder() or "nobody, yet"
        except RedisError:
            return "unknown"
