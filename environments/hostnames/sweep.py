"""The orphan sweeper: list each hosted zone Slipway writes to, report the names this instance owns
whose environment no longer exists, and (when ``SLIPWAY_DNS_SWEEP_REMOVE`` is on) delete them.
Names without this instance's ownership TXT (foreign or adopted) are counted and never touched."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from portal.audit.actor import Actor
from portal.audit.services import audit_record
from portal.jobs.models import Job
from portal.jobs.reporting import JobReporter

from ..models import Environment
from . import route53
from .models import ClusterDns, DnsSweep, HostnameRecord
from .names import OWNERSHIP_PREFIX, owner_id, parse_ownership
from .ownership import WRITTEN_TYPES


def sweep_zone(*, zone_id: str, zone_name: str, remove: bool, job: Job | None = None,
               reporter: JobReporter | None = None) -> DnsSweep:
    """Sweep one zone and save its report. Idempotent: a re-run finds what is still there."""
    me = owner_id()
    by_name: dict[str, list[route53.RecordSet]] = {}
    seen = 0
    for record in route53.iter_records(zone_id):
        seen += 1
        by_name.setdefault(record.name, []).append(record)
    live = set(Environment.objects.exclude(status=Environment.DESTROYED).values_list("pk", flat=True))
    kept = set(HostnameRecord.objects.exclude(state=HostnameRecord.RETIRED).values_list("name", flat=True))
    owned = foreign = 0
    orphans: list[dict[str, Any]] = []
    groups: list[list[route53.Change]] = []
    for name, records in sorted(by_name.items()):
        if name.startswith(OWNERSHIP_PREFIX) or not any(r.type in WRITTEN_TYPES for r in records):
            continue  # ownership markers themselves, and the zone's NS/SOA/MX/TXT…
        markers = [r for r in by_name.get(OWNERSHIP_PREFIX + name, []) if r.type == "TXT"]
        parsed = next((p for m in markers for v in m.values if (p := parse_ownership(v))), None)
        if parsed is None or parsed["owner"] != me:
            foreign += 1
            continue
        owned += 1
        env_id = int(parsed["environment"]) if parsed["environment"].isdigit() else None
        if env_id in live or name in kept:
            continue
        written = [r for r in records if r.type in WRITTEN_TYPES]
        orphans.append({"name": name, "type": "/".join(r.type for r in written), "environment_id": env_id,
                        "removed": remove})
        groups.append([route53.Change("DELETE", r) for r in [*written, *markers]])
        if reporter:
            reporter.log(f"{zone_name}: orphan {name} (environment #{env_id} is gone)"
                         + (": removing" if remove else ""))
    change_ids: list[str] = []
    if remove and groups:
        change_ids = route53.change(zone_id, groups, comment="slipway orphan sweep").change_ids
        route53.wait_insync(change_ids)
    return DnsSweep.objects.create(job=job, zone_id=zone_id, zone_name=zone_name, owner_id=me, removal_enabled=remove,
                                   records_seen=seen, owned=owned, foreign=foreign, orphans=orphans,
                                   change_ids=change_ids)


def zones_to_sweep() -> list[tuple[str, str]]:
    zones = dict(ClusterDns.objects.values_list("zone_id", "zone_name"))
    return sorted(zones.items())


def run_dns_sweep(job: Job, reporter: JobReporter, actor: Actor) -> None:
    remove = settings.SLIPWAY_DNS_SWEEP_REMOVE
    zones = zones_to_sweep()
    reporter.log(f"sweeping {len(zones)} zone(s) as owner {owner_id()}; removal {'on' if remove else 'off'}")
    for number, (zone_id, zone_name) in enumerate(zones, start=1):
        report = sweep_zone(zone_id=zone_id, zone_name=zone_name, remove=remove, job=job, reporter=reporter)
        reporter.log(f"{zone_name}: {report.records_seen} record sets, {report.owned} ours, {report.foreign} "
                     f"foreign, {len(report.orphans)} orphan(s)")
        audit_record(actor=actor, action="dns.sweep", obj=report, details={
            "zone": zone_name, "orphans": [o["name"] for o in report.orphans], "removed": remove,
            "change_ids": report.change_ids})
        reporter.progress(100 * number // len(zones), zone_name)

