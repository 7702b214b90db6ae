"""The Route 53 steps of an environment's jobs: publish its names in the rollout, release them in the
destroy. Both converge when re-run: unchanged names are skipped, missing ones are not deleted twice."""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from portal.audit.actor import Actor
from portal.audit.services import audit_record
from portal.jobs.reporting import JobReporter

from ..models import Environment
from . import route53
from .models import HostnameRecord
from .ownership import HostnameTaken, check_available, claim_of, delete_group, upsert_group


def _live_ids() -> set[int]:
    return set(Environment.objects.exclude(status=Environment.DESTROYED).values_list("pk", flat=True))


def _submit(groups_by_zone: dict[str, list[list[route53.Change]]], comment: str) -> list[str]:
    change_ids: list[str] = []
    for zone_id, groups in groups_by_zone.items():
        if groups:
            change_ids += route53.change(zone_id, groups, comment=comment).change_ids
    if change_ids:
        route53.wait_insync(change_ids)
    return change_ids


def hostnames_publish(*, environment: Environment, reporter: JobReporter, actor: Actor) -> list[str]:
    """Write the environment's owned names (record + ownership TXT, one atomic group per name) and delete the
    retired ones, then wait for INSYNC. Every name is checked before anything is written: one that someone
    else owns fails the whole step (HostnameTaken) with nothing changed. Returns the change ids."""
    rows = list(environment.hostname_records.filter(owned=True))
    if not rows:
        return []
    live_ids = _live_ids()
    upserts: dict[str, list] = defaultdict(list)
    deletes: dict[str, list] = defaultdict(list)
    written, skipped = [], []
    for row in rows:
        if row.state == HostnameRecord.RETIRED:
            group = delete_group(claim_of(row.zone_id, row.name), environment_id=environment.pk)
            if group:
                deletes[row.zone_id].append(group)
            continue
        claim = check_available(row.zone_id, row.name, environment_id=environment.pk, live_environment_ids=live_ids)
        group = upsert_group(row, claim)
        (written if group else skipped).append(row)
        if group:
            upserts[row.zone_id].append(group)
    groups = {zone: upserts[zone] + deletes[zone] for zone in {*upserts, *deletes}}
    for row in skipped:
        reporter.log(f"dns {row.name}: unchanged")
    change_ids = _submit(groups, comment=f"slipway environment {environment.pk} {environment.name}")
    now = timezone.now()
    with transaction.atomic():
        for row in written:
            HostnameRecord.objects.filter(pk=row.pk).update(state=HostnameRecord.LIVE, synced_at=now,
                                                            change_id=",".join(change_ids)[:64])
            reporter.log(f"dns {row.name}: {row.type} → {row.value} ({', '.join(change_ids)}, INSYNC)")
        # Already true in the zone (e.g. a re-run after a crash between the change and this update).
        HostnameRecord.objects.filter(pk__in=[r.pk for r in skipped if r.state != HostnameRecord.LIVE]).update(
            state=HostnameRecord.LIVE, synced_at=now)
        retired = [r for r in rows if r.state == HostnameRecord.RETIRED]
        for row in retired:
            reporter.log(f"dns {row.name}: deleted")
        HostnameRecord.objects.filter(pk__in=[r.pk for r in retired]).delete()
    if change_ids:
        audit_record(actor=actor, action="hostnames.publish", obj=environment, team_slug=environment.team.slug,
                     details={"change_ids": change_ids, "written": [r.name for r in written],
                              "deleted": [r.name for r in retired]})
    return change_ids


def hostnames_release(*, environment: Environment, reporter: JobReporter, actor: Actor) -> list[str]:
    """Delete exactly the records this instance wrote for the environment (matching ownership TXT); names
    since taken by someone else, and adopted names, are left alone. Returns the change ids."""
    rows = list(environment.hostname_records.all())
    if not rows:
        return []
    groups: dict[str, list] = defaultdict(list)
    deleted, left = [], []
    for row in rows:
        group = delete_group(claim_of(row.zone_id, row.name), environment_id=environment.pk) if row.owned else []
        (deleted if group else left).append(row.name)
        if group:
            groups[row.zone_id].append(group)
    change_ids = _submit(groups, comment=f"slipway destroy environment {environment.pk} {environment.name}")
    for name in deleted:
        reporter.log(f"dns {name}: deleted ({', '.join(change_ids)})")
    for name in left:
        reporter.log(f"dns {name}: not ours (adopted, gone, or owned by someone else), left alone")
    HostnameRecord.objects.filter(pk__in=[r.pk for r in rows]).delete()
    audit_record(actor=actor, action="hostnames.release", obj=environment, team_slug=environment.team.slug,
                 details={"change_ids": change_ids, "deleted": deleted, "left_alone": left})
    return change_ids


__all__ = ["HostnameTaken", "hostnames_publish", "hostnames_release"]
