"""Orphaned Route 53 names, as the existing DNS sweep (``hostnames/sweep.py``) finds them: each zone is swept
with removal off (its report is saved as usual) and its orphans become Orphan rows here.

Removing one name re-runs that zone's sweep first (the same rules decide that it is still an orphan),
then deletes the name's records and its ownership TXT in one change. A record has no price of its own
(Route 53 bills per hosted zone and per query).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from ..hostnames import route53
from ..hostnames.names import OWNERSHIP_PREFIX
from ..hostnames.ownership import WRITTEN_TYPES
from ..hostnames.sweep import sweep_zone, zones_to_sweep
from .models import Orphan
from .orphan_findings import Finding, OrphanKind, Sweep

NO_PRICE = "Route 53 bills per hosted zone and per query, not per record"


def find_dns_names(log: Callable[[str], None]) -> Sweep:
    sweep = Sweep()
    for zone_id, zone_name in zones_to_sweep():
        try:
            report = sweep_zone(zone_id=zone_id, zone_name=zone_name, remove=False)
        except route53.Route53Error as exc:
            sweep.problems.append(f"zone {zone_name}: {exc}")
            continue
        sweep.scopes.add((Orphan.DNS_RECORD, zone_name))
        for found in report.orphans:
            sweep.findings.append(Finding(Orphan.DNS_RECORD, zone_name, found["name"], {
                "zone_id": zone_id, "type": found["type"], "environment_id": found["environment_id"],
                "dns_sweep_id": report.pk, "cost_basis": NO_PRICE}, Decimal(0)))
        log(f"zone {zone_name}: {report.owned} name(s) of ours, {len(report.orphans)} orphan(s)")
    return sweep


def dns_name_still_orphan(orphan: Orphan) -> str | None:
    report = sweep_zone(zone_id=orphan.details["zone_id"], zone_name=orphan.location, remove=False)
    if orphan.name in {o["name"] for o in report.orphans}:
        return None
    if route53.records_named(orphan.details["zone_id"], orphan.name):
        return f"{orphan.name} is not an orphan any more (its environment is live, or it is not ours)"
    return None  # gone already


def dns_name_remove(orphan: Orphan) -> None:
    zone_id = orphan.details["zone_id"]
    doomed = [r for r in route53.records_named(zone_id, orphan.name) if r.type in WRITTEN_TYPES]
    doomed += [r for r in route53.records_named(zone_id, OWNERSHIP_PREFIX + orphan.name) if r.type == "TXT"]
    if doomed:
        result = route53.change(zone_id, [[route53.Change("DELETE", r) for r in doomed]],
                                comment="slipway orphan removal")
        route53.wait_insync(result.change_ids)


DNS_NAMES = OrphanKind(kinds=(Orphan.DNS_RECORD,), find=find_dns_names, still_orphan=dns_name_still_orphan,
                           remove=dns_name_remove)
