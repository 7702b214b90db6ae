"""Orphaned Terraform workspaces: state objects in the state bucket and working directories under
``SLIPWAY_TERRAFORM_DIR`` that no Cluster row names.

A state key is this installation's only when its suffix is one this installation derives for a cluster
id it issued (``clusters/<name>-<suffix of owner_marker('cluster', pk)>/terraform.tfstate``): the default
bucket name is the same everywhere, and another installation's states must never look like ours.
Legacy keys without a suffix are not reported (nothing says whose they are). A working directory is
Slipway's when it holds the backend file Slipway writes. Neither has a price: a state object is a few
kilobytes, a directory lives on the worker's disk.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db.models import Max

from clusters.models import Cluster
from clusters.terraform import BACKEND_FILE
from portal import aws
from portal.audit.models import AuditEvent
from portal.derived_names import owner_marker, stable_suffix

from .models import Orphan
from .orphan_findings import Finding, OrphanKind, Sweep

STATE_PREFIX = "clusters/"
STATE_NAME = "/terraform.tfstate"
NO_PRICE = "a few kilobytes of state: no meaningful cost"


def _issued_cluster_suffixes() -> set[str]:
    """The suffixes of every cluster id this installation has issued (live rows and audited ones)."""
    top = Cluster.objects.aggregate(top=Max("pk"))["top"] or 0
    audited = AuditEvent.objects.filter(object_type="clusters.cluster").values_list("object_id", flat=True).distinct()
    top = max([top, *(int(i) for i in audited if i.isdigit())])
    return {stable_suffix(owner_marker("cluster", pk)) for pk in range(1, top + 1)}


def _state_keys(bucket: str) -> list[tuple[str, int]]:
    s3 = aws.client("s3")
    try:
        pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=STATE_PREFIX))
    except s3.exceptions.NoSuchBucket:
        return []
    return [(o["Key"], int(o["Size"])) for page in pages for o in page.get("Contents", [])
            if o["Key"].endswith(STATE_NAME)]


def find_states(log: Callable[[str], None]) -> Sweep:
    bucket = settings.SLIPWAY_TERRAFORM_STATE_BUCKET
    sweep = Sweep()
    try:
        keys = _state_keys(bucket)
    except Exception as exc:
        sweep.problems.append(f"state bucket {bucket}: {type(exc).__name__}: {exc}")
        return sweep
    sweep.scopes.add((Orphan.TERRAFORM_STATE, bucket))
    known = set(Cluster.objects.exclude(state_key="").values_list("state_key", flat=True))
    ours = _issued_cluster_suffixes()
    for key, size in keys:
        folder = key[len(STATE_PREFIX):-len(STATE_NAME)]
        suffix = folder.rpartition("-")[2]
        if key in known or suffix not in ours:
            continue
        sweep.findings.append(Finding(Orphan.TERRAFORM_STATE, bucket, key, {
            "cluster": folder.rpartition("-")[0], "size_bytes": size, "cost_basis": NO_PRICE}, Decimal(0)))
    log(f"state bucket {bucket}: {len(keys)} state(s), {len(known)} cluster(s) with a state key")
    return sweep


def state_still_orphan(orphan: Orphan) -> str | None:
    if cluster := Cluster.objects.filter(state_key=orphan.name).first():
        return f"cluster {cluster.name} uses this state now"
    return None


def state_remove(orphan: Orphan) -> None:
    """Delete the state object and its lock file. The bucket is versioned: earlier versions stay, so a
    mistaken removal can be undone from S3's history."""
    s3 = aws.client("s3")
    for key in (orphan.name, f"{orphan.name}.tflock"):
        try:
            s3.delete_object(Bucket=orphan.location, Key=key)
        except s3.exceptions.NoSuchBucket:
            return


TERRAFORM_STATES = OrphanKind(kinds=(Orphan.TERRAFORM_STATE,), find=find_states,
                           still_orphan=state_still_orphan, remove=state_remove)


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def find_directories(log: Callable[[str], None]) -> Sweep:
    root = Path(settings.SLIPWAY_TERRAFORM_DIR)
    sweep = Sweep(scopes={(Orphan.TERRAFORM_DIR, str(root))})
    if not root.is_dir():
        return sweep
    names = set(Cluster.objects.values_list("name", flat=True))
    dirs = [d for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith(".")
            and (d / BACKEND_FILE).is_file()]
    for directory in dirs:
        if directory.name not in names:
            sweep.findings.append(Finding(Orphan.TERRAFORM_DIR, str(root), directory.name, {
                "size_bytes": _size(directory), "cost_basis": "on the worker's disk: no price"}, Decimal(0)))
    log(f"{root}: {len(dirs)} working director(ies), {len(names)} cluster(s)")
    return sweep


def directory_still_orphan(orphan: Orphan) -> str | None:
    if Cluster.objects.filter(name=orphan.name).exists():
        return f"cluster {orphan.name} exists now"
    return None


def directory_remove(orphan: Orphan) -> None:
    path = Path(orphan.location) / orphan.name
    if path.parent != Path(settings.SLIPWAY_TERRAFORM_DIR) or "/" in orphan.name or orphan.name.startswith("."):
        raise ValueError(f"{path} is not a working directory under {settings.SLIPWAY_TERRAFORM_DIR}")
    if path.exists():
        shutil.rmtree(path)


TERRAFORM_DIRS = OrphanKind(kinds=(Orphan.TERRAFORM_DIR,), find=find_directories,
                           still_orphan=directory_still_orphan, remove=directory_remove)
