"""Orphaned data stores on Slipway's shared servers, read from the servers' own ownership registries
(``migrations_tool.store_inventory``): a database, Redis prefix/db or bucket is an orphan when its
marker is this installation's, the environment the marker names is destroyed or missing, and no data
store row still tracks it (a retiring store is tracked: the reaper removes it after the undo window).

The environment must be gone, not merely store-less: provisioning claims the registry entry before it
records the DataStore row, and a sweep in between must not take a store being made for an orphan.
Undo snapshots of copies into destroyed environments, left in the installation's snapshot bucket,
are S3 prefix orphans. Removal goes through the copiers' ``deprovision``, which checks the marker again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from django.conf import settings

from migrations_tool import store_inventory
from migrations_tool.copiers import copier_for
from migrations_tool.models import DataCopy, DataServer, DataStore
from migrations_tool.store_inventory import RegisteredStore

from ..cost.prices import GIB, prices_for
from ..models import Environment
from .models import Orphan
from .orphan_findings import (
    Finding,
    OrphanKind,
    Sweep,
    live_environment_ids,
    marked_environment,
    our_instance_ids,
)

TRACKED = (DataStore.READY, DataStore.RETIRING)
KIND_OF_SERVER = {"mysql": Orphan.DATABASE, "redis": Orphan.REDIS_PREFIX, "s3": Orphan.S3_BUCKET}
LISTINGS: dict[str, Callable[[DataServer], list[RegisteredStore]]] = {
    "mysql": store_inventory.mariadb_registered, "redis": store_inventory.redis_registered,
    "s3": store_inventory.s3_tagged_buckets}
ZERO_COST_REASON = "on a shared server: it has no price of its own (its size is shown)"


def location_of(server: DataServer) -> str:
    return f"{server.cluster.name} {server.kind} server #{server.pk}"


def _tracked(server: DataServer) -> set[str]:
    stores = DataStore.objects.filter(server=server, kind=server.kind, state__in=TRACKED)
    if server.kind == "redis":
        return {f"prefix:{s.prefix}" if s.prefix else f"db:{s.database}" for s in stores}
    return {s.database for s in stores}


def _finding(server: DataServer, store: RegisteredStore, env_id: int) -> Finding:
    kind = KIND_OF_SERVER[server.kind]
    items, size = store.items, store.size_bytes  # MariaDB's registry query measured them already
    if kind == Orphan.REDIS_PREFIX:
        items = store_inventory.redis_key_count(server, store.name)
    elif kind == Orphan.S3_BUCKET:
        items, size = store_inventory.s3_bucket_size(server, store.name)
    details = {"server_id": server.pk, "owner_marker": store.marker, "environment_id": env_id,
               "items": items, "size_bytes": size}
    if kind == Orphan.S3_BUCKET:
        prices = prices_for(server.cluster_id)
        cost = (Decimal(size) / GIB * prices.storage_gib_month).quantize(Decimal("0.000001"))
        details["cost_basis"] = "bytes (every object version) x the cluster's S3 price per GiB-month"
        return Finding(kind, location_of(server), store.name, details, cost, prices.currency)
    details["cost_basis"] = ZERO_COST_REASON
    return Finding(kind, location_of(server), store.name, details, Decimal(0))


def find_data_stores(log: Callable[[str], None]) -> Sweep:
    sweep = Sweep()
    ours, live = our_instance_ids(), live_environment_ids()
    for server in DataServer.objects.select_related("cluster").order_by("pk"):
        try:
            registered = LISTINGS[server.kind](server)
        except Exception as exc:  # an unreachable server: its stores are neither found nor gone
            sweep.problems.append(f"{location_of(server)}: {type(exc).__name__}: {exc}")
            continue
        sweep.scopes.add((KIND_OF_SERVER[server.kind], location_of(server)))
        tracked = _tracked(server)
        for store in registered:
            env_id = marked_environment(store.marker, ours)
            if env_id is not None and env_id not in live and store.name not in tracked:
                sweep.findings.append(_finding(server, store, env_id))
        log(f"{location_of(server)}: {len(registered)} registered store(s), {len(tracked)} tracked")
    return sweep


HOLDERS: dict[str, Callable[[DataServer, str], str | None]] = {
    "mysql": store_inventory.mariadb_holder, "redis": store_inventory.redis_holder,
    "s3": store_inventory.s3_bucket_holder}


def _server(orphan: Orphan) -> DataServer | None:
    return DataServer.objects.select_related("cluster").filter(pk=orphan.details.get("server_id")).first()


def data_store_still_orphan(orphan: Orphan) -> str | None:
    server = _server(orphan)
    if server is None:
        return "its data server is no longer registered"
    if orphan.name in _tracked(server):
        return f"a data store of {server.cluster.name} tracks {orphan.name} now"
    if orphan.details.get("environment_id") in live_environment_ids():
        return f"environment #{orphan.details['environment_id']} is live again"
    holder = HOLDERS[server.kind](server, orphan.name)
    if holder is not None and holder != orphan.details.get("owner_marker"):
        return f"{orphan.name} is registered to {holder} now"
    return None  # still ours, or already gone (the copier's removal is then a no-op)


def data_store_remove(orphan: Orphan) -> None:
    server = _server(orphan)
    marker = orphan.details["owner_marker"]
    if server.kind == "mysql":
        store = replace(server.endpoint(database=orphan.name), user=orphan.name)  # user and database share the name
    elif server.kind == "redis":
        store = store_inventory.redis_store_endpoint(server, orphan.name)
    else:
        store = store_inventory.s3_bucket_endpoint(server, orphan.name)
    copier_for(server.kind).deprovision(store, server.server_endpoint(), marker)


DATA_STORES = OrphanKind(kinds=(Orphan.DATABASE, Orphan.REDIS_PREFIX, Orphan.S3_BUCKET), find=find_data_stores,
                           still_orphan=data_store_still_orphan, remove=data_store_remove)


# -- undo snapshots left in the installation's bucket ---------------------------------------------------------

def _snapshot_owner(copy_id: int, environment: str) -> DataCopy | None:
    return DataCopy.objects.select_related("target").filter(pk=copy_id, target__name=environment).first()


def find_snapshot_prefixes(log: Callable[[str], None]) -> Sweep:
    """A prefix is an orphan only when its copy is known (so it is this installation's) and the copy's
    target environment is destroyed; another installation's snapshots (same default bucket name) have no copy here."""
    bucket = settings.SLIPWAY_SNAPSHOT_BUCKET
    sweep = Sweep()
    try:
        prefixes = list(store_inventory.installation_snapshot_prefixes(bucket))
    except Exception as exc:
        sweep.problems.append(f"snapshot bucket {bucket}: {type(exc).__name__}: {exc}")
        return sweep
    sweep.scopes.add((Orphan.S3_PREFIX, bucket))
    for found in prefixes:
        copy = _snapshot_owner(found.copy_id, found.environment)
        if copy is None or copy.target.status != Environment.DESTROYED:
            continue
        prices = prices_for(copy.target.cluster_id)
        cost = (Decimal(found.size_bytes) / GIB * prices.storage_gib_month).quantize(Decimal("0.000001"))
        sweep.findings.append(Finding(Orphan.S3_PREFIX, bucket, found.prefix, {
            "copy_id": found.copy_id, "environment": found.environment, "environment_id": copy.target_id,
            "items": found.objects, "size_bytes": found.size_bytes,
            "cost_basis": "bytes x the target cluster's S3 price per GiB-month"}, cost, prices.currency))
    log(f"snapshot bucket {bucket}: {len(prefixes)} copy snapshot prefix(es)")
    return sweep


def snapshot_prefix_still_orphan(orphan: Orphan) -> str | None:
    copy = _snapshot_owner(orphan.details.get("copy_id", 0), orphan.details.get("environment", ""))
    if copy is None or copy.target.status != Environment.DESTROYED:
        return "its copy's target environment is not destroyed"
    return None


def snapshot_prefix_remove(orphan: Orphan) -> None:
    store_inventory.snapshot_prefix_delete(orphan.location, orphan.name)


SNAPSHOT_PREFIXES = OrphanKind(kinds=(Orphan.S3_PREFIX,), find=find_snapshot_prefixes,
                           still_orphan=snapshot_prefix_still_orphan, remove=snapshot_prefix_remove)
