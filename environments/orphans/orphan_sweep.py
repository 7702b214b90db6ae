"""The sweep job (kind ``orphans.sweep``): every finder looks, and the Orphan rows follow what they saw.

A thing found is an open row (a new one when it has none: found again after a removal = a new row);
an open row a finder no longer sees in a scope it read completely becomes ``gone``; a scope the finder
could not read (an unreachable cluster or server) leaves its rows as they are. Idempotent: a re-run
converges to the same rows. With ``SLIPWAY_ORPHANS_REMOVE_AUTOMATICALLY`` every found orphan is then
removed, each re-checked first exactly as an admin's removal is.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.audit.actor import Actor
from portal.audit.services import audit_record
from portal.jobs.models import Job
from portal.jobs.reporting import JobReporter

from .lifecycle import orphan_transition
from .models import Orphan
from .orphan_findings import OrphanKind, Sweep
from .orphan_kinds import FINDERS
from .orphan_removal import orphans_remove_now

# Rows a finding updates instead of opening a new one (a failed removal stays the row an admin retries).
CURRENT = (Orphan.FOUND, Orphan.REMOVING, Orphan.FAILED)


def orphans_find(log=lambda line: None, finders: Iterable[OrphanKind] = FINDERS) -> Sweep:
    """Every finder's result in one Sweep; a finder that raises is a problem, not a failed sweep."""
    total = Sweep()
    for finder in finders:
        try:
            found = finder.find(log)
        except Exception as exc:
            total.problems.append(f"{'/'.join(finder.kinds)}: {type(exc).__name__}: {exc}")
            continue
        total.findings += found.findings
        total.scopes |= found.scopes
        total.problems += found.problems
    return total


def orphans_record(sweep: Sweep, *, actor: Actor, now: datetime | None = None,
                   reporter: JobReporter | None = None) -> dict[str, int]:
    """Bring the Orphan rows in line with ``sweep``; returns {"new", "seen", "gone"} counts."""
    now = now or timezone.now()
    seen: set[tuple[str, str, str]] = set()
    new = 0
    for f in sweep.findings:
        seen.add((f.kind, f.location, f.name))
        fields = {"details": f.details, "monthly_cost": f.monthly_cost, "currency": f.currency, "last_seen_at": now}
        rows = Orphan.objects.filter(kind=f.kind, location=f.location, name=f.name, state__in=CURRENT)
        if rows.update(**fields):
            continue
        try:
            with transaction.atomic():
                orphan = Orphan.objects.create(kind=f.kind, location=f.location, name=f.name, **fields)
        except IntegrityError:  # a concurrent sweep opened it first
            continue
        new += 1
        audit_record(actor=actor, action="orphan.found", obj=orphan, details={
            "kind": f.kind, "location": f.location, "name": f.name, "monthly_cost": str(f.monthly_cost or 0)})
        if reporter:
            reporter.log(f"found {orphan}: about {f.monthly_cost or 0:.2f} {f.currency}/month")
    gone = 0
    for orphan in Orphan.objects.filter(state__in=(Orphan.FOUND, Orphan.FAILED)):
        key = (orphan.kind, orphan.location, orphan.name)
        if (orphan.kind, orphan.location) in sweep.scopes and key not in seen:
            orphan_transition(orphan, Orphan.GONE, actor=actor, reporter=reporter,
                              message="a sweep no longer finds it (removed by someone else, or tracked again)")
            gone += 1
    return {"new": new, "seen": len(seen), "gone": gone}


def run_orphan_sweep(job: Job, reporter: JobReporter, actor: Actor) -> None:
    """The body of the sweep job."""
    reporter.log(f"sweeping {len(FINDERS)} kinds of thing; automatic removal "
                 f"{'on' if settings.SLIPWAY_ORPHANS_REMOVE_AUTOMATICALLY else 'off'}")
    sweep = orphans_find(reporter.log)
    for problem in sweep.problems:
        reporter.log(f"not swept: {problem}")
    reporter.progress(80, "recording")
    counts = orphans_record(sweep, actor=actor, reporter=reporter)
    reporter.log(f"{counts['seen']} orphan(s) seen, {counts['new']} new, {counts['gone']} gone by themselves")
    audit_record(actor=actor, action="orphans.sweep", details={**counts, "problems": sweep.problems})
    if settings.SLIPWAY_ORPHANS_REMOVE_AUTOMATICALLY:
        found = list(Orphan.objects.filter(state=Orphan.FOUND))
        orphans_remove_now(found, actor=actor, reporter=reporter)
    reporter.progress(100, "done")
