"""The finders the sweeper runs, one per group of kinds, and which one handles a kind."""

from __future__ import annotations

from .data_store_orphans import DATA_STORES, SNAPSHOT_PREFIXES
from .dns_orphans import DNS_NAMES
from .namespace_orphans import NAMESPACES
from .orphan_findings import OrphanKind
from .terraform_orphans import TERRAFORM_DIRS, TERRAFORM_STATES

FINDERS: tuple[OrphanKind, ...] = (NAMESPACES, DATA_STORES, SNAPSHOT_PREFIXES, DNS_NAMES, TERRAFORM_STATES,
                                   TERRAFORM_DIRS)


def finder_for(kind: str) -> OrphanKind:
    return next(f for f in FINDERS if kind in f.kinds)
