"""What Slipway's ownership registries say exists on a shared data server, for the orphan sweeper.

Read-only listings through the same adapters as the copiers (MariaDB and Redis connections, the AWS
client): every database in ``slipway_registry.owners``, every Redis store in ``slipway:dbmap`` (with
its key count, by SCAN with a pattern, never KEYS), every bucket carrying the ownership tag (with its
size), and the undo snapshots in the installation's snapshot bucket. Removal goes through the copiers'
own ``deprovision`` (which re-checks the marker) and ``snapshot_prefix_delete`` here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pymysql

from . import snapshot_store
from .contracts import SNAPSHOT_PREFIX, CopyError, Endpoint, StoreOwner
from .mariadb_accounts import REGISTRY
from .mariadb_connection import connect as mariadb_connect
from .mariadb_connection import reason
from .models import DataServer
from .redis_keyspace import REGISTRY_KEY, Scope, guarded, scan_batches
from .redis_keyspace import connect as redis_connect
from .s3_copy import OWNER_TAG, bucket_name
from .s3_store import Side

SCAN_BATCH = 1000


@dataclass(frozen=True)
class RegisteredStore:
    """One store a registry knows: ``name`` (database, ``prefix:<p>``/``db:<n>``, bucket), its ``marker``,
    and what it holds (tables, keys or objects; bytes where the server says)."""

    name: str
    marker: str
    items: int = 0
    size_bytes: int = 0


def mariadb_registered(server: DataServer) -> list[RegisteredStore]:
    """The databases of ``slipway_registry.owners`` on the server, with their table count and size."""
    conn = mariadb_connect(server.server_endpoint(), database=False, side="shared")
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'slipway_registry' "
                    "AND TABLE_NAME = 'owners'")
        if cur.fetchone() is None:
            return []
        cur.execute(f"SELECT r.name, r.owner, COUNT(t.TABLE_NAME), COALESCE(SUM(t.DATA_LENGTH + t.INDEX_LENGTH), 0) "
                    f"FROM {REGISTRY} r LEFT JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = r.name "
                    "GROUP BY r.name, r.owner ORDER BY r.name")
        return [RegisteredStore(name, owner, int(tables), int(size)) for name, owner, tables, size in cur.fetchall()]
    except pymysql.MySQLError as exc:
        raise CopyError(f"Cannot read the registry of {server}: {reason(exc)}") from None
    finally:
        conn.close()


def mariadb_holder(server: DataServer, database: str) -> str | None:
    """The marker the registry gives ``database`` now (None: no row)."""
    return next((s.marker for s in mariadb_registered(server) if s.name == database), None)


def redis_store_endpoint(server: DataServer, value: str) -> Endpoint:
    """The endpoint of a registry value (``prefix:<p>`` or ``db:<n>``) on ``server``."""
    kind, _, where = value.partition(":")
    base = server.server_endpoint()
    if kind == "prefix":
        return Endpoint(kind="redis", host=base.host, port=base.port, user=base.user, password=base.password,
                        database=base.database, prefix=where)
    return Endpoint(kind="redis", host=base.host, port=base.port, user=base.user, password=base.password,
                    database=where)


def redis_registered(server: DataServer) -> list[RegisteredStore]:
    """The stores of the server's ``slipway:dbmap`` (``redis_key_count`` counts one's keys)."""
    endpoint = server.server_endpoint()
    registry = redis_connect(endpoint)
    with guarded("shared", endpoint):
        entries = sorted((v.decode(), f.decode()) for f, v in registry.hgetall(REGISTRY_KEY).items())
    registry.close()
    return [RegisteredStore(value, marker) for value, marker in entries]


def redis_key_count(server: DataServer, value: str) -> int:
    """How many keys the store ``value`` holds (SCAN of its prefix, or of its db, with a pattern)."""
    store = redis_store_endpoint(server, value)
    client = redis_connect(store)
    with guarded("shared", store):
        count = sum(len([k for k in batch if k != REGISTRY_KEY])
                    for batch in scan_batches(client, Scope.of(store), SCAN_BATCH))
    client.close()
    return count


def redis_holder(server: DataServer, value: str) -> str | None:
    return next((s.marker for s in redis_registered(server) if s.name == value), None)


def s3_bucket_endpoint(server: DataServer, bucket: str) -> Endpoint:
    base = server.server_endpoint()
    return Endpoint(kind="s3", user=base.user, password=base.password, database=bucket,
                    endpoint_url=base.endpoint_url, region=base.region)


def _bucket_size(side: Side) -> tuple[int, int]:
    objects = size = 0
    for page in side.client.get_paginator("list_object_versions").paginate(Bucket=side.bucket):
        for version in page.get("Versions", []):
            objects += 1
            size += int(version.get("Size", 0))
    return objects, size


def _bucket_tag(side: Side) -> str | None:
    try:
        tags = side.client.get_bucket_tagging(Bucket=side.bucket).get("TagSet", [])
    except side.client.exceptions.ClientError:  # NoSuchTagSet (no tags) or the bucket went meanwhile
        return None
    return next((t["Value"] for t in tags if t["Key"] == OWNER_TAG), None)


def s3_tagged_buckets(server: DataServer) -> list[RegisteredStore]:
    """The buckets named as the server names its stores' (``<base>-…``) that carry Slipway's ownership
    tag (``s3_bucket_size`` measures one)."""
    # The head ``bucket_name`` puts before every store's name on this server.
    head = bucket_name(server.database or "slipway", StoreOwner(readable="", marker="")).rpartition("-")[0] + "-"
    lister = Side(s3_bucket_endpoint(server, ""), role="shared")
    found = []
    names = sorted(b["Name"] for b in lister.client.list_buckets().get("Buckets", []))
    for bucket in (name for name in names if name.startswith(head)):
        if marker := _bucket_tag(Side(s3_bucket_endpoint(server, bucket), role="shared")):
            found.append(RegisteredStore(bucket, marker))
    return found


def s3_bucket_size(server: DataServer, bucket: str) -> tuple[int, int]:
    """Objects and bytes of every version in ``bucket`` (a versioned bucket bills for them all)."""
    return _bucket_size(Side(s3_bucket_endpoint(server, bucket), role="shared"))


def s3_bucket_holder(server: DataServer, bucket: str) -> str | None:
    side = Side(s3_bucket_endpoint(server, bucket), role="shared")
    return _bucket_tag(side)


@dataclass(frozen=True)
class SnapshotPrefix:
    """Undo snapshots of one data copy in the installation's bucket: ``<SNAPSHOT_PREFIX><environment>/<copy id>/``."""

    bucket: str
    prefix: str
    environment: str
    copy_id: int
    objects: int
    size_bytes: int


def installation_snapshot_prefixes(bucket: str) -> Iterator[SnapshotPrefix]:
    """The snapshot prefixes in ``bucket`` (nothing when the bucket does not exist), with their sizes."""
    s3 = snapshot_store.client()
    totals: dict[tuple[str, int], list[int]] = {}
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=SNAPSHOT_PREFIX):
            for obj in page.get("Contents", []):
                parts = obj["Key"][len(SNAPSHOT_PREFIX):].split("/")
                if len(parts) >= 3 and parts[1].isdigit():
                    entry = totals.setdefault((parts[0], int(parts[1])), [0, 0])
                    entry[0] += 1
                    entry[1] += int(obj["Size"])
    except s3.exceptions.NoSuchBucket:
        return
    for (environment, copy_id), (objects, size) in sorted(totals.items()):
        yield SnapshotPrefix(bucket, f"{SNAPSHOT_PREFIX}{environment}/{copy_id}/", environment, copy_id, objects, size)


def snapshot_prefix_delete(bucket: str, prefix: str) -> int:
    """Delete every object under ``prefix`` of ``bucket``; idempotent (nothing left = 0). Returns the count."""
    s3 = snapshot_store.client()
    deleted = 0
    try:
        # The first page again until empty: deleting while paginating skips entries on some servers.
        while keys := [{"Key": o["Key"]} for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            deleted += len(keys)
    except s3.exceptions.NoSuchBucket:
        return deleted
    return deleted
