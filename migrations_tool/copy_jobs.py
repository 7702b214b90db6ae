"""The data copy and undo jobs: snapshot each target store, copy, verify, record progress live.

Idempotent: a redelivered job keeps the snapshot taken by its first attempt (the target may be half
overwritten by then) and runs the copy again, which converges.
"""

from __future__ import annotations

import time
from typing import Any

from django.db import transaction
from django.utils import timezone

from portal.audit.actor import Actor
from portal.audit.services import audit_record
from portal.jobs.models import Job
from portal.jobs.reporting import JobReporter
from portal.redaction import redact

from . import snapshot_store
from .contracts import SNAPSHOT_PREFIX, CopyError, SnapshotSink
from .copiers import copier_for
from .lifecycle import data_copy_transition
from .masking import masking_key
from .models import DataCopy, DataStore
from .policy import store_options_enforced
from .undo_window import undo_deadline

_UNITS = ("rows", "keys", "objects", "bytes")


class _StoreProgress:
    """The ProgressFn handed to a copier: keeps counters, writes them and the job's bar at most twice a second."""

    def __init__(self, copy: DataCopy, kind: str, reporter: JobReporter, index: int, count: int) -> None:
        self.copy, self.kind, self.reporter, self.index, self.count = copy, kind, reporter, index, count
        self.counters: dict[str, Any] = dict(copy.progress.get(kind, {}))
        self.started = time.monotonic()
        self._last = 0.0

    def __call__(self, message: str = "", **counters: Any) -> None:
        self.counters.update({k: v for k, v in counters.items() if isinstance(v, int | float)})
        if message:
            self.reporter.log(f"[{self.kind}] {message}")
        now = time.monotonic()
        if now - self._last >= 0.5 or message:
            self._last = now
            self.flush()

    def fraction(self) -> float:
        for unit in _UNITS:
            total = self.counters.get(f"{unit}_total")
            if total:
                return min(1.0, self.counters.get(f"{unit}_done", 0) / total)
        return 0.0

    def flush(self, *, phase: str = "") -> None:
        self.counters["phase"] = phase or self.counters.get("phase", "copying")
        self.copy.progress[self.kind] = dict(self.counters)
        DataCopy.objects.filter(pk=self.copy.pk).update(progress=self.copy.progress)
        percent = int(100 * (self.index + self.fraction()) / self.count)
        self.reporter.progress(min(percent, 99), f"{self.kind}: {self.counters['phase']}")

    def throughput(self) -> dict[str, float]:
        seconds = max(time.monotonic() - self.started, 0.001)
        return {f"{unit}_per_second": round(self.counters[f"{unit}_done"] / seconds, 1)
                for unit in _UNITS if self.counters.get(f"{unit}_done")}


def _store(environment, kind: str) -> DataStore:
    store = environment.data_stores.filter(kind=kind, state=DataStore.READY).first()
    if store is None:
        raise CopyError(f"{environment.name} has no {kind} store any more.")
    return store


def snapshot_sink(copy: DataCopy, kind: str) -> SnapshotSink:
    """Snapshots go to the target environment's own bucket (or the installation's snapshot bucket)."""
    s3 = copy.target.data_stores.filter(kind="s3", state=DataStore.READY).first()
    prefix = f"{SNAPSHOT_PREFIX}{copy.target.name}/{copy.pk}/{kind}/"
    if s3 is not None:
        return SnapshotSink(bucket=s3.database, prefix=s3.prefix + prefix, endpoint_url=s3.endpoint_url)
    return SnapshotSink(bucket=snapshot_store.installation_bucket(), prefix=prefix)


def _options_for(copy: DataCopy, kind: str) -> dict[str, Any]:
    # The policy's exclusions again, from the source's blueprint: a copy row never carries more than it allows.
    options = store_options_enforced(copy.source, copy.target, kind, copy.options.get(kind) or {})
    if kind == "mysql":
        options["masking"] = copy.options.get("masking") or {}
        options["masking_key"] = masking_key()
    return options


def _set(copy: DataCopy, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(copy, name, value)
    DataCopy.objects.filter(pk=copy.pk).update(**fields)


def run_data_copy(job: Job, reporter: JobReporter, actor: Actor) -> None:
    copy = DataCopy.objects.select_related("source", "target", "team").get(job=job)
    if copy.state not in (DataCopy.QUEUED, DataCopy.RUNNING):
        reporter.log(f"copy is {copy.state}: nothing to do")
        return
    data_copy_transition(copy, DataCopy.RUNNING, actor=actor, error="", reporter=reporter)
    try:
        for index, kind in enumerate(copy.stores):
            _copy_store(copy, kind, reporter, index)
    except Exception as exc:
        message = redact(str(exc) if isinstance(exc, CopyError) else f"{type(exc).__name__}: {exc}")
        data_copy_transition(copy, DataCopy.FAILED, actor=actor, error=message, reporter=reporter,
                             finished_at=timezone.now())
        audit_record(actor=actor, action="data_copy.failed", obj=copy, team_slug=copy.team.slug,
                     details={"stores": copy.stores, "restorable": sorted(copy.snapshots)}, outcome="failure",
                     error=message)
        if copy.snapshots:
            reporter.log(f"the target is restorable from the snapshot(s) of {', '.join(sorted(copy.snapshots))}")
        raise
    data_copy_transition(copy, DataCopy.VERIFIED, actor=actor, reporter=reporter, finished_at=timezone.now())
    audit_record(actor=actor, action="data_copy.verified", obj=copy, team_slug=copy.team.slug,
                 details={"stores": copy.stores, "throughput": copy.throughput})
    reporter.log("all stores copied and verified")


def _copy_store(copy: DataCopy, kind: str, reporter: JobReporter, index: int) -> None:
    copier = copier_for(kind)
    source, target = _store(copy.source, kind), _store(copy.target, kind)
    progress = _StoreProgress(copy, kind, reporter, index, len(copy.stores))
    options = _options_for(copy, kind)
    if kind not in copy.snapshots:
        progress.flush(phase="snapshotting target")
        reference = copier.snapshot(target.store_endpoint(), snapshot_sink(copy, kind), progress, options=options)
        with transaction.atomic():
            copy.snapshots = {**copy.snapshots, kind: reference}
            _set(copy, snapshots=copy.snapshots, undo_until=undo_deadline())
    else:
        reporter.log(f"[{kind}] keeping the snapshot taken by an earlier attempt")
    progress.flush(phase="copying")
    progress.started = time.monotonic()  # throughput of the copy itself, not of the snapshot
    report = copier.copy(source.store_endpoint(), target.store_endpoint(), options, progress)
    for unit in ("tables", *_UNITS):
        if unit in report.counters:  # exact final counts replace the estimates the bars started from
            progress.counters[f"{unit}_done"] = progress.counters[f"{unit}_total"] = report.counters[unit]
    progress.flush(phase="verified" if report.verified else "verification failed")
    copy.verification[kind] = {"verified": report.verified, "details": report.verification,
                               "notes": report.notes, "counters": report.counters}
    copy.throughput[kind] = progress.throughput()
    _set(copy, verification=copy.verification, throughput=copy.throughput)
    for note in report.notes:
        reporter.log(f"[{kind}] {note}")
    if not report.verified:
        raise CopyError(f"{kind}: verification failed — " + ("; ".join(report.notes) or "see details"))
    reporter.log(f"[{kind}] verified: " + ", ".join(f"{k}={v}" for k, v in sorted(report.counters.items())))


def run_data_copy_undo(job: Job, reporter: JobReporter, actor: Actor) -> None:
    copy = DataCopy.objects.select_related("target", "team").get(undo_job=job)
    if copy.state == DataCopy.UNDONE:
        return
    try:
        for index, (kind, reference) in enumerate(sorted(copy.snapshots.items())):
            target = _store(copy.target, kind)
            progress = _StoreProgress(copy, kind, reporter, index, len(copy.snapshots))
            progress.flush(phase="restoring snapshot")
            copier_for(kind).restore(target.store_endpoint(), reference, progress)
            progress.flush(phase="restored")
    except Exception as exc:
        # Back to an undoable state: the snapshot is intact and the undo can be retried.
        data_copy_transition(copy, DataCopy.FAILED, actor=actor, error=f"undo failed: {exc}", reporter=reporter)
        raise
    data_copy_transition(copy, DataCopy.UNDONE, actor=actor, reporter=reporter)
    audit_record(actor=actor, action="data_copy.undone", obj=copy, team_slug=copy.team.slug,
                 details={"stores": sorted(copy.snapshots)})
    reporter.log(f"{copy.target.name} is back as it was before the copy")
