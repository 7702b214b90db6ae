"""The contract between a data copy's orchestration and the per-store copiers.

The orchestration (models, services, tasks, undo window) knows stores only through ``Endpoint`` and
the ``Copier`` protocol; each copier module (``mariadb.py``, ``redis_copy.py``, ``s3_copy.py``) talks to
exactly one kind of server and knows nothing about Django models, jobs or audit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from portal.crypto import Secret


@dataclass(frozen=True)
class Endpoint:
    """Connection facts for one store, decrypted in memory only (``password`` is a ``Secret``).

    ``database`` means the schema name for ``mysql``, the logical db index (as text) for ``redis`` and
    the bucket for ``s3``; ``prefix`` is the key prefix for ``redis``/``s3`` (empty = whole db/bucket).
    For ``s3``, ``user``/``password`` are the access key id / secret key (empty = default chain) and
    ``endpoint_url`` overrides the AWS adapter's endpoint (two endpoints => cross-account streaming).
    """

    kind: str  # "mysql" | "redis" | "s3"
    host: str = ""
    port: int = 0
    user: str = ""
    password: Secret | str = ""
    database: str = ""
    prefix: str = ""
    endpoint_url: str = ""
    region: str = ""

    def __repr__(self) -> str:  # never show the password
        return (f"Endpoint(kind={self.kind!r}, host={self.host!r}, port={self.port}, user={self.user!r}, "
                f"database={self.database!r}, prefix={self.prefix!r}, endpoint_url={self.endpoint_url!r})")


# Called by a copier with cumulative counters, as often as is useful (the orchestration throttles
# broadcasts). Keys by convention: "<unit>_total" and "<unit>_done" for progress bars (units:
# "tables", "rows", "keys", "objects", "bytes"), plus free-form counters. A ``message`` keyword, when
# given, is a human-readable line for the live output.
ProgressFn = Callable[..., None]


@dataclass(frozen=True)
class StoreOwner:
    """Who a store on a shared server belongs to: ``readable`` (the environment's name, for people)
    and ``marker`` (``portal.derived_names.owner_marker``), which names are derived from and which
    the server keeps next to the store as Slipway's ownership marker."""

    readable: str
    marker: str


class CopyError(Exception):
    """A copy or verification failed for a reason a person can act on (message is shown verbatim,
    so it must never contain a secret)."""


@dataclass
class CopyReport:
    counters: dict[str, int] = field(default_factory=dict)  # final totals (rows/keys/objects/bytes…)
    verified: bool = False
    verification: dict[str, Any] = field(default_factory=dict)  # per table/key-sample/object details
    notes: list[str] = field(default_factory=list)


# Undo snapshots live under this prefix of an environment's own S3 store (``SnapshotSink.prefix`` starts
# with the store's prefix + this). S3 copies, snapshots, restores and mirror deletions never see the
# keys under it, so a copy into that bucket can neither clobber, delete nor carry snapshots.
SNAPSHOT_PREFIX = "slipway-snapshots/"


@dataclass(frozen=True)
class SnapshotSink:
    """Where a copier puts a snapshot of the target before overwriting it: an S3 location reached
    through ``snapshot_store.client(endpoint_url)`` (the installation's S3 endpoint when it is empty)."""

    bucket: str
    prefix: str  # e.g. "slipway-snapshots/<environment>/<copy-id>/redis/"
    endpoint_url: str = ""


class Copier(Protocol):
    kind: ClassVar[str]

    def copy(self, source: Endpoint, target: Endpoint, options: Mapping[str, Any],
             progress: ProgressFn) -> CopyReport:
        """Copy source into target (replacing what the options select) and verify; idempotent:
        running it again after a kill converges to the same target state."""

    def snapshot(self, target: Endpoint, sink: SnapshotSink, progress: ProgressFn, *,
                 options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Save what a copy into ``target`` would overwrite; returns a JSON-able reference. ``options``
        (the copy's, when known) lets a copier save only what that copy selects; None = everything."""

    def restore(self, target: Endpoint, snapshot: Mapping[str, Any], progress: ProgressFn) -> None:
        """Put ``target`` back exactly as it was when ``snapshot`` was taken."""

    def provision(self, server: Endpoint, owner: StoreOwner) -> Endpoint:
        """Create an environment's own store on a shared server (database + user, db index or key
        prefix, bucket), named by ``portal.derived_names`` from ``owner`` and marked as ``owner``'s;
        idempotent. Raises CopyError (and touches nothing) when the store already exists without
        ``owner``'s marker. Returns the environment's endpoint (with its own credentials)."""

    def deprovision(self, store: Endpoint, server: Endpoint, owner: str | None) -> None:
        """Remove everything ``provision`` created; idempotent (missing is fine). Raises CopyError (and
        removes nothing) unless the store carries marker ``owner``; ``None`` is for stores made before
        markers existed, whose caller has ruled out a shared name itself."""
