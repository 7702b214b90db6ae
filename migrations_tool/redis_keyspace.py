"""One Redis server as the copier sees it: the connection, the keys a store selects (database,
prefix, include/exclude patterns), scanning them in batches, and batched DUMP/PTTL reads and
RESTORE writes pipelined as raw RESP. Errors become a ``CopyError`` that never shows a password."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import hiredis
import redis

from migrations_tool.contracts import CopyError, Endpoint

REGISTRY_KEY = b"slipway:dbmap"
DEFAULT_BATCH = 1000
_GLOB_SPECIALS = re.compile(rb"([*?\[\]\\])")


def connect(endpoint: Endpoint) -> redis.Redis:
    """The one place a data-store Redis connection is built (binary-safe: keys and values are bytes)."""
    return redis.Redis(host=endpoint.host or "127.0.0.1", port=endpoint.port or 6379,
                       username=endpoint.user or None, password=str(endpoint.password) or None,
                       db=db_index(endpoint), socket_connect_timeout=10, socket_timeout=120)


def db_index(endpoint: Endpoint) -> int:
    try:
        return int(endpoint.database or 0)
    except ValueError:
        raise CopyError(f"Redis database must be a logical db index, not {endpoint.database!r}") from None


@contextmanager
def guarded(side: str, endpoint: Endpoint) -> Iterator[None]:
    """Turn redis-py errors into a CopyError that names the server but never the password."""
    where = f"{side} Redis at {endpoint.host or '127.0.0.1'}:{endpoint.port or 6379} db {db_index(endpoint)}"
    try:
        yield
    except redis.AuthenticationError:
        raise CopyError(f"{where} rejected the credentials (user {endpoint.user or 'default'!r})") from None
    except redis.ResponseError as exc:
        if "NOAUTH" in str(exc) or "WRONGPASS" in str(exc):
            raise CopyError(f"{where} rejected the credentials (user {endpoint.user or 'default'!r})") from None
        raise CopyError(f"{where} refused a command: {exc}") from None
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        reason = str(exc).replace(str(endpoint.password), "********") if endpoint.password else str(exc)
        raise CopyError(f"{where} is unreachable or went away: {reason}") from None


@dataclass(frozen=True)
class Scope:
    """The keys of one store that a copy selects: a prefix plus include/exclude patterns."""

    prefix: bytes = b""
    include: tuple[re.Pattern[bytes], ...] = ()
    exclude: tuple[re.Pattern[bytes], ...] = ()
    single_include: bytes | None = None

    @classmethod
    def of(cls, endpoint: Endpoint, options: Mapping[str, Any] | None = None) -> Scope:
        options = options or {}
        include = [str(p) for p in options.get("include") or []]
        exclude = [str(p) for p in options.get("exclude") or []]
        return cls(prefix=endpoint.prefix.encode(), include=tuple(_glob(p) for p in include),
                   exclude=tuple(_glob(p) for p in exclude),
                   single_include=include[0].encode() if len(include) == 1 else None)

    def with_prefix(self, prefix: str) -> Scope:
        return Scope(prefix.encode(), self.include, self.exclude, self.single_include)

    @property
    def match(self) -> bytes:
        # One include pattern is pushed to the server; several are filtered here.
        return _GLOB_SPECIALS.sub(rb"\\\1", self.prefix) + (self.single_include or b"*")

    def selects(self, key: bytes) -> bool:
        if key == REGISTRY_KEY or not key.startswith(self.prefix):
            return False
        name = key[len(self.prefix):]
        if self.include and not any(p.match(name) for p in self.include):
            return False
        return not any(p.match(name) for p in self.exclude)

    @property
    def matched_by_server(self) -> bool:
        """SCAN's MATCH (prefix + at most one include pattern) already selects exactly these keys."""
        return not self.exclude and len(self.include) <= 1

    @property
    def whole_db(self) -> bool:
        return not (self.prefix or self.include or self.exclude)

    def rename(self, key: bytes, into: Scope) -> bytes:
        return into.prefix + key[len(self.prefix):]


def _glob(pattern: str) -> re.Pattern[bytes]:
    # Redis negates a class with [^…]; fnmatch with [!…].
    return re.compile(fnmatch.translate(pattern.replace("[^", "[!")).encode(), re.DOTALL)


def scan_batches(client: redis.Redis, scope: Scope, size: int) -> Iterator[list[bytes]]:
    batch: list[bytes] = []
    cursor = 0
    while True:
        cursor, keys = client.scan(cursor, match=scope.match, count=size)
        if scope.matched_by_server:  # the common case: no per-key Python work (~1 µs a key)
            batch.extend(keys)
            if REGISTRY_KEY in keys:
                batch.remove(REGISTRY_KEY)
        else:
            batch.extend(k for k in keys if scope.selects(k))
        while len(batch) >= size:
            yield batch[:size]
            batch = batch[size:]
        if cursor == 0:
            break
    if batch:
        yield batch


class Keyspace:
    """Batched DUMP/PTTL reads and RESTORE writes on one server, pipelined as raw RESP: one write per
    batch, replies parsed by hiredis in C. redis-py's pipeline object spends ~20 µs of Python per
    command, several times what the servers spend on DUMP/RESTORE, and would dominate a copy; the
    connection (auth, db selection, TLS) is still redis-py's own, from the client's pool."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def dump(self, keys: list[bytes]) -> list[tuple[bytes, bytes, int]]:
        """(key, payload, pttl) for the keys that still exist; pttl -1 = persistent."""
        replies = self._pipeline([_DUMP_PTTL % (len(k), k, len(k), k) for k in keys], 2 * len(keys))
        try:
            # -2: expired or deleted since SCAN; 0: expires within the millisecond. An error reply
            # (not an int) makes the comparison raise: the careful loop below sorts it out.
            return [(k, p, t) for k, p, t in zip(keys, replies[0::2], replies[1::2], strict=True)
                    if (t > 0 or t == -1) and type(p) is bytes]
        except TypeError:
            pass
        found = []
        for i, key in enumerate(keys):
            payload, ttl = replies[2 * i], replies[2 * i + 1]
            # -2: expired or deleted since SCAN; 0: expires within the millisecond (RESTORE would make a
            # TTL of 0 mean "persistent"). Nothing to copy either way.
            if payload and not isinstance(payload, Exception) and ttl not in (-2, 0):
                found.append((key, payload, ttl))
        return found

    def restore(self, items: list[tuple[bytes, bytes, int]], *, absolute: bool = False) -> None:
        """RESTORE … REPLACE each (key, payload, ttl); ttl ≤ 0 = persistent, ``absolute``: ttl is a
        unix time in ms (ABSTTL)."""
        commands = [(_RESTORE_ABSTTL if absolute and ttl > 0 else _RESTORE) % (
            len(key), key, len(t := b"%d" % max(ttl, 0)), t, len(payload), payload) for key, payload, ttl in items]
        replies = self._pipeline(commands, len(commands), expect=_OK)
        for (key, _, _), reply in zip(items, replies, strict=True):
            if isinstance(reply, Exception):
                if "payload version" in str(reply):
                    raise CopyError("the target Redis cannot read the source's DUMP format (older server "
                                    "version); copy to a server of the same or a newer version")
                raise redis.ResponseError(f"RESTORE {key.decode(errors='backslashreplace')}: {reply}")

    def _pipeline(self, commands: list[bytes], count: int, *, expect: bytes = b"") -> list[Any]:
        """Send the commands in one write and read ``count`` replies. When every reply is expected to
        be the same short status (``expect``, e.g. +OK), bytes equal to that many copies of it are
        taken as such without parsing each reply; anything else is parsed."""
        if not commands:
            return []
        pool = self.client.connection_pool
        conn = pool.get_connection()
        try:
            conn.send_packed_command([b"".join(commands)], check_health=False)
            reader, replies = hiredis.Reader(), []
            received, fast = bytearray(), bool(expect)
            while len(replies) < count:
                data = conn._sock.recv(1 << 20)
                if not data:
                    raise redis.ConnectionError("the server closed the connection")
                if fast:
                    received += data
                    if len(received) < len(expect) * count:
                        continue
                    if received == expect * count:
                        return [_STATUS[expect]] * count
                    fast, data = False, bytes(received)  # an error among them: parse everything
                reader.feed(data)
                while (reply := reader.gets()) is not False:
                    replies.append(reply)
            return replies
        except BaseException:
            conn.disconnect()  # replies may be left unread: never hand this connection out again
            raise
        finally:
            pool.release(conn)


_OK = b"+OK\r\n"
_STATUS = {_OK: b"OK"}
# RESP frames, filled with %-formatting: the fastest way to build them in Python.
_DUMP_PTTL = b"*2\r\n$4\r\nDUMP\r\n$%d\r\n%s\r\n*2\r\n$4\r\nPTTL\r\n$%d\r\n%s\r\n"
_RESTORE = b"*5\r\n$7\r\nRESTORE\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$7\r\nREPLACE\r\n"
_RESTORE_ABSTTL = (b"*6\r\n$7\r\nRESTORE\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$7\r\nREPLACE\r\n"
                   b"$6\r\nABSTTL\r\n")
