"""Redis copier: pipelined DUMP + PTTL from the source, RESTORE … REPLACE into the target.

Works between any two servers (or two logical databases of one server): nothing is asked of the
servers beyond DUMP/RESTORE/SCAN, so it also works where MIGRATE cannot reach the target. The scope
of a store is its logical database (``Endpoint.database``) and key prefix (``Endpoint.prefix``); a
copy strips the source prefix and adds the target's. Options: ``include`` / ``exclude`` (lists of
Redis glob patterns matched against the key name *without* the prefix), ``batch_size`` (keys per
round trip, default 1000), ``mirror`` (delete target keys in scope that the source does not hold),
``verify`` (default on) and ``verify_sample`` (keys whose values are compared, default 100).

Reading the source and writing the target overlap: one thread reads batches while the caller's
thread restores the previous one, so a copy costs roughly the slower of the two servers.
"""

from __future__ import annotations

import queue
import random
import tempfile
import threading
import uuid
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import redis

from migrations_tool import snapshot_store
from migrations_tool.contracts import CopyError, CopyReport, Endpoint, ProgressFn, SnapshotSink, StoreOwner
from migrations_tool.redis_keyspace import (
    DEFAULT_BATCH,
    REGISTRY_KEY,
    Keyspace,
    Scope,
    connect,
    db_index,
    guarded,
    scan_batches,
)
from migrations_tool.redis_snapshot import read_records, write_header, write_record
from portal.derived_names import REDIS_PREFIX, bounded_name

DEFAULT_SAMPLE = 100

class RedisCopier:
    kind: ClassVar[str] = "redis"

    # -- copy and verification ---------------------------------------------------------------------

    def copy(self, source: Endpoint, target: Endpoint, options: Mapping[str, Any],
             progress: ProgressFn) -> CopyReport:
        """Copy the selected keys with their TTLs (REPLACE, so a re-run converges), then verify.

        Raises CopyError when a server is unreachable, rejects the credentials or goes away midway.
        """
        size = int(options.get("batch_size") or DEFAULT_BATCH)
        src_scope, dst_scope = Scope.of(source, options), Scope.of(target, options)
        same_db = (source.host, source.port, db_index(source)) == (target.host, target.port, db_index(target))
        if same_db and (src_scope.prefix.startswith(dst_scope.prefix) or dst_scope.prefix.startswith(src_scope.prefix)):
            # the scan would meet the keys it has just written (or overwrite the ones it reads)
            raise CopyError("source and target overlap: same Redis database and nested key prefixes")
        src, dst = connect(source), connect(target)
        with guarded("source", source):
            total = src.dbsize()
        with guarded("target", target):
            dst.ping()
        progress(keys_total=total, keys_done=0, bytes_done=0,
                 message=f"copying keys from db {db_index(source)} to db {db_index(target)}")
        done = nbytes = 0
        writer = Keyspace(dst)
        for items in self._read_ahead(Keyspace(src), source, src_scope, size):
            renamed = items if src_scope.prefix == dst_scope.prefix else [
                (src_scope.rename(k, dst_scope), payload, ttl) for k, payload, ttl in items]
            with guarded("target", target):
                writer.restore(renamed)
            done += len(items)
            nbytes += sum(len(p) for _, p, _ in items)
            progress(keys_total=max(total, done), keys_done=done, bytes_done=nbytes)
        report = CopyReport(counters={"keys": done, "bytes": nbytes})
        if options.get("mirror"):
            _, removed = self._extras(src, dst, source, target, src_scope, dst_scope, size, delete=True)
            report.counters["keys_removed"] = removed
            report.notes.append(f"mirror: removed {removed} target keys the source does not hold")
        progress(keys_total=done, keys_done=done, bytes_done=nbytes, message=f"copied {done} keys")
        if options.get("verify", True):
            report.verified, report.verification = self.verify(source, target, options)
            progress(message="verification " + ("passed" if report.verified else "FAILED"))
        src.close()
        dst.close()
        return report

    def _read_ahead(self, src: Keyspace, source: Endpoint, scope: Scope,
                    size: int) -> Iterator[list[tuple[bytes, bytes, int]]]:
        """Batches dumped by a reader thread, at most two ahead of the writer (bounded memory)."""
        batches: queue.Queue[Any] = queue.Queue(maxsize=2)
        stop = threading.Event()
        end = object()

        def read() -> None:
            try:
                with guarded("source", source):
                    for keys in scan_batches(src.client, scope, size):
                        if stop.is_set():
                            return
                        batches.put(src.dump(keys))
                batches.put(end)
            except BaseException as exc:  # handed to the writer, which raises it
                batches.put(exc)

        reader = threading.Thread(target=read, name="redis-copy-reader", daemon=True)
        reader.start()
        try:
            while (item := batches.get()) is not end:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            while reader.is_alive():  # unblock a reader waiting on a full queue
                try:
                    batches.get(timeout=0.1)
                except queue.Empty:
                    pass

    def verify(self, source: Endpoint, target: Endpoint, options: Mapping[str, Any]) -> tuple[bool, dict[str, Any]]:
        """Key counts in scope (every source key has its target counterpart) and a sample of values
        (DUMP payloads, or a type-aware compare when servers encode differently) and TTL presence."""
        size = int(options.get("batch_size") or DEFAULT_BATCH)
        wanted = int(options.get("verify_sample", DEFAULT_SAMPLE))
        src_scope, dst_scope = Scope.of(source, options), Scope.of(target, options)
        src, dst = connect(source), connect(target)
        counted = self._count_whole_dbs(src, dst, source, target, src_scope, dst_scope, wanted)
        if counted:
            n_src, n_tgt, extra, sample = counted
        else:
            n_src, sample = self._count_and_sample(src, source, src_scope, size, wanted)
            n_tgt, extra = self._extras(src, dst, source, target, src_scope, dst_scope, size, delete=False)
        mismatched = self._compare_sample(src, dst, source, target, sample, src_scope, dst_scope)
        details = {"source_keys": n_src, "target_keys": n_tgt, "extra_target_keys": extra,
                   "sampled": len(sample), "mismatched": mismatched}
        src.close()
        dst.close()
        return n_tgt - extra == n_src and not mismatched, details

    def _count_whole_dbs(self, src: redis.Redis, dst: redis.Redis, source: Endpoint, target: Endpoint,
                         src_scope: Scope, dst_scope: Scope, wanted: int) -> tuple[int, int, int, list[bytes]] | None:
        """Whole db to whole db: DBSIZE on both sides and a RANDOMKEY sample, no scan. Equal counts plus
        a RESTORE acknowledged for every copied key mean every source key is there; otherwise (None)
        the caller scans to tell missing keys from extra ones."""
        if not (src_scope.whole_db and dst_scope.whole_db):
            return None
        with guarded("source", source):
            n_src = src.dbsize() - src.exists(REGISTRY_KEY)
            if n_src <= wanted:  # small enough to sample every key by scanning
                return None
            pipe = src.pipeline(transaction=False)
            for _ in range(wanted):
                pipe.randomkey()
            sample = sorted({k for k in pipe.execute() if k is not None and k != REGISTRY_KEY})
        with guarded("target", target):
            n_tgt = dst.dbsize() - dst.exists(REGISTRY_KEY)
        return (n_src, n_tgt, 0, sample) if n_src == n_tgt else None

    def _count_and_sample(self, src: redis.Redis, source: Endpoint, scope: Scope, size: int,
                          wanted: int) -> tuple[int, list[bytes]]:
        sample: list[bytes] = []
        count = 0
        rng = random.Random()
        with guarded("source", source):
            for keys in scan_batches(src, scope, size):
                for key in keys:  # reservoir sampling: a uniform sample in one pass
                    count += 1
                    if len(sample) < wanted:
                        sample.append(key)
                    elif (j := rng.randrange(count)) < wanted:
                        sample[j] = key
        return count, sample

    def _extras(self, src: redis.Redis, dst: redis.Redis, source: Endpoint, target: Endpoint, src_scope: Scope,
                dst_scope: Scope, size: int, *, delete: bool) -> tuple[int, int]:
        """(target keys in scope, of which without a source counterpart); deletes those when asked."""
        n_tgt = extra = 0
        for keys in self._guarded_scan(dst, target, dst_scope, size):
            n_tgt += len(keys)
            counterparts = [dst_scope.rename(key, src_scope) for key in keys]
            with guarded("source", source):
                if src.exists(*counterparts) == len(keys):  # the usual case: one command per batch
                    continue
                pipe = src.pipeline(transaction=False)
                for key in counterparts:
                    pipe.exists(key)
                orphans = [k for k, present in zip(keys, pipe.execute(), strict=True) if not present]
            extra += len(orphans)
            if delete and orphans:
                with guarded("target", target):
                    dst.unlink(*orphans)
        return n_tgt, extra

    def _guarded_scan(self, client: redis.Redis, endpoint: Endpoint, scope: Scope,
                      size: int) -> Iterator[list[bytes]]:
        with guarded("target", endpoint):
            yield from scan_batches(client, scope, size)

    def _compare_sample(self, src: redis.Redis, dst: redis.Redis, source: Endpoint, target: Endpoint,
                        sample: list[bytes], src_scope: Scope, dst_scope: Scope) -> list[str]:
        if not sample:
            return []
        with guarded("source", source):
            left = {k: (p, t) for k, p, t in Keyspace(src).dump(sample)}
        renamed = [src_scope.rename(k, dst_scope) for k in sample]
        with guarded("target", target):
            right = {k: (p, t) for k, p, t in Keyspace(dst).dump(renamed)}
        mismatched = []
        for key, tkey in zip(sample, renamed, strict=True):
            if key not in left:
                continue  # expired or deleted at the source since it was sampled
            theirs = right.get(tkey)
            same = theirs is not None and (left[key][1] > 0) == (theirs[1] > 0) and (
                theirs[0] == left[key][0] or _value(src, key) == _value(dst, tkey))
            if not same:
                mismatched.append(tkey.decode(errors="backslashreplace"))
        return mismatched[:20]

    # -- snapshot and restore ----------------------------------------------------------------------

    def snapshot(self, target: Endpoint, sink: SnapshotSink, progress: ProgressFn, *,
                 options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Dump every key under the target's prefix (or its whole db) that the copy's include/exclude
        patterns select to one object in the sink, with absolute expiry times on the server's clock so
        a restore gives the keys their remaining TTL. Keys outside the patterns are never touched by
        the copy (nor its mirror deletions), so they need no saving."""
        patterns = {name: list((options or {}).get(name) or []) for name in ("include", "exclude")}
        client, scope = connect(target), Scope.of(target, patterns)
        keyspace = Keyspace(client)
        count = nbytes = 0
        with tempfile.SpooledTemporaryFile(max_size=64 << 20) as spool, guarded("target", target):
            write_header(spool)
            for keys in scan_batches(client, scope, DEFAULT_BATCH):
                now_ms = _server_ms(client)
                for key, payload, ttl in keyspace.dump(keys):
                    write_record(spool, key, payload, now_ms + ttl if ttl > 0 else 0)
                    count += 1
                    nbytes += len(payload)
                progress(keys_done=count, bytes_done=nbytes)
            spool.seek(0)
            key = f"{sink.prefix}redis-db{db_index(target)}-{uuid.uuid4().hex[:12]}.snapshot"
            snapshot_store.client(sink.endpoint_url).upload_fileobj(spool, sink.bucket, key)
        client.close()
        progress(message=f"snapshot of {count} keys saved")
        return {"kind": self.kind, "bucket": sink.bucket, "key": key, "endpoint_url": sink.endpoint_url,
                "database": db_index(target), "prefix": target.prefix, "keys": count, "bytes": nbytes, **patterns}

    def restore(self, target: Endpoint, snapshot: Mapping[str, Any], progress: ProgressFn) -> None:
        """Delete every key now in the snapshot's scope, then RESTORE the snapshot (keys whose TTL ran
        out since are not brought back). Idempotent."""
        if snapshot.get("kind") != self.kind or (snapshot.get("database"), snapshot.get("prefix")) != (
                db_index(target), target.prefix):
            raise CopyError("this snapshot was taken of another Redis store")
        client, scope = connect(target), Scope.of(target, snapshot)
        keyspace = Keyspace(client)
        s3 = snapshot_store.client(snapshot.get("endpoint_url") or "")
        body = s3.get_object(Bucket=snapshot["bucket"], Key=snapshot["key"])["Body"]
        removed = restored = 0
        with guarded("target", target):
            for keys in scan_batches(client, scope, DEFAULT_BATCH):
                removed += client.unlink(*keys)
            batch: list[tuple[bytes, bytes, int]] = []
            for record in read_records(body):
                batch.append(record)
                if len(batch) >= DEFAULT_BATCH:
                    keyspace.restore(batch, absolute=True)
                    restored += len(batch)
                    batch = []
                    progress(keys_done=restored)
            keyspace.restore(batch, absolute=True)
            restored += len(batch)
        client.close()
        progress(keys_done=restored, message=f"restored {restored} keys, removed {removed}")

    # -- backing store per environment ---------------------------------------------------------------

    def provision(self, server: Endpoint, owner: StoreOwner) -> Endpoint:
        """A logical db (or, when ``server.prefix`` is set, a key prefix under it) for ``owner``,
        recorded in the server's ``slipway:dbmap`` hash under ``owner.marker`` (the ownership marker),
        so the same owner always gets the same store. A db or prefix that holds keys nobody
        registered, or that is registered to another owner, is never handed out. Raises CopyError
        when full or refused."""
        client = connect(server)
        with guarded("shared", server):
            if server.prefix:
                prefix = f"{server.prefix}{bounded_name(owner.readable, owner.marker, REDIS_PREFIX)}:"
                value = self._claim_prefix(client, server, owner.marker, prefix)
            else:
                try:
                    databases = int(client.config_get("databases").get("databases", 16))
                except redis.ResponseError:  # CONFIG is often disabled on managed servers
                    databases = 16
                value = client.eval(_ALLOCATE_DB, 1, REGISTRY_KEY, owner.marker, databases, db_index(server))
                if not value:
                    raise CopyError(f"no free logical database left on the shared Redis for {owner.readable!r}")
                value = value.decode()
        client.close()
        kind, _, where = value.partition(":")
        if kind == "prefix":
            return Endpoint(kind="redis", host=server.host, port=server.port, user=server.user,
                            password=server.password, database=server.database, prefix=where)
        return Endpoint(kind="redis", host=server.host, port=server.port, user=server.user,
                        password=server.password, database=where)

    @staticmethod
    def _claim_prefix(client: redis.Redis, server: Endpoint, marker: str, prefix: str) -> str:
        value = f"prefix:{prefix}"
        registry = {f.decode(): v.decode() for f, v in client.hgetall(REGISTRY_KEY).items()}
        if registry.get(marker) == value:
            return value
        others = [f for f, v in registry.items() if v == value and f != marker]
        if others:
            raise CopyError(f"Redis prefix {prefix!r} is registered to {others[0]}; Slipway will not take over "
                            "another owner's keys.")
        if _holds_keys(client, Endpoint(kind="redis", database=server.database, prefix=prefix)):
            raise CopyError(f"Redis prefix {prefix!r} already holds keys without Slipway's ownership marker "
                            f"(no entry in {REGISTRY_KEY}); Slipway will not take them over.")
        if not client.hsetnx(REGISTRY_KEY, marker, value) and client.hget(REGISTRY_KEY, marker).decode() != value:
            raise CopyError(f"the Redis registry already gives {marker} another store")
        return value

    def deprovision(self, store: Endpoint, server: Endpoint, owner: str | None) -> None:
        """Delete the store's keys (its prefix, or FLUSHDB of its db) and its registry entry; a store
        already gone is fine. Only a store the registry gives to ``owner`` is touched (``None``: a store
        made before markers, whose caller ruled out sharing: then only a registered db is flushed)."""
        value = f"prefix:{store.prefix}" if store.prefix else f"db:{db_index(store)}"
        registry = connect(server)
        with guarded("shared", server):
            owners = [f.decode() for f, v in registry.hgetall(REGISTRY_KEY).items() if v.decode() == value]
        client = connect(store)
        with guarded("shared", store):
            if owner is not None and owner not in owners:
                if store.prefix:
                    holds_keys = _holds_keys(client, store)
                else:
                    holds_keys = db_index(store) != db_index(server) and client.dbsize() > 0
                client.close()
                registry.close()
                if owners or holds_keys:
                    marker = f"registered to {owners[0]}" if owners else "no ownership marker"
                    raise CopyError(f"Redis store {value} is not registered to {owner} ({marker}); "
                                    "Slipway will not delete its keys.")
                return  # already removed
            if store.prefix:
                for keys in scan_batches(client, Scope.of(store), DEFAULT_BATCH):
                    client.unlink(*keys)
            elif owners and db_index(store) != db_index(server):
                client.flushdb()
            if owners:
                registry.hdel(REGISTRY_KEY, *owners)
        client.close()
        registry.close()


def _holds_keys(client: redis.Redis, store: Endpoint) -> bool:
    return next(iter(scan_batches(client, Scope.of(store), DEFAULT_BATCH)), None) is not None


# KEYS[1] registry hash; ARGV: name, number of dbs, registry db. Atomic, so two environments created
# at once never get the same db; SELECT inside a script does not change the caller's db.
_ALLOCATE_DB = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then return current end
local used = {}
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do used[v] = true end
local home = tonumber(ARGV[3])
for i = 1, tonumber(ARGV[2]) - 1 do
  local value = 'db:' .. i
  if i ~= home and not used[value] then
    redis.call('SELECT', i)
    local empty = redis.call('DBSIZE') == 0
    redis.call('SELECT', home)
    if empty then
      redis.call('HSET', KEYS[1], ARGV[1], value)
      return value
    end
  end
end
return false
"""


def _server_ms(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return seconds * 1000 + micros // 1000


def _value(client: redis.Redis, key: bytes) -> Any:
    """A key's logical value, for comparing across servers whose DUMP encodings differ."""
    kind = client.type(key)
    reads = {b"string": lambda: client.get(key), b"hash": lambda: client.hgetall(key),
             b"list": lambda: client.lrange(key, 0, -1), b"set": lambda: client.smembers(key),
             b"zset": lambda: client.zrange(key, 0, -1, withscores=True),
             b"stream": lambda: client.xrange(key)}
    return kind, reads.get(kind, lambda: None)()
