"""Who owns a DNS name: nobody, this Slipway instance (and which environment), or someone else.

The records Slipway writes for one name: the name itself (CNAME, or an alias A record) plus its
ownership TXT. Everything here reads Route 53 first, so decisions use the zone's live content.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import HostnameRecord
from .names import normalize, owner_id, ownership_name, ownership_value, parse_ownership
from .route53 import Change, RecordSet, records_named

FREE, OURS, FOREIGN = "free", "ours", "foreign"
# The record types Slipway writes at a name (CNAME, or A for an alias); others at that name are never touched.
WRITTEN_TYPES = frozenset({"CNAME", "A"})


class HostnameTaken(Exception):
    """A name exists in the zone and belongs to someone else; the message says who, for people."""


@dataclass
class Claim:
    name: str
    state: str
    owner: str = ""
    environment_id: int | None = None
    records: tuple[RecordSet, ...] = ()
    marker: RecordSet | None = None

    def written(self) -> list[RecordSet]:
        return [r for r in self.records if r.type in WRITTEN_TYPES]


def claim_of(zone_id: str, name: str, *, owner: str | None = None) -> Claim:
    """Read the name and its ownership TXT from the zone and say who holds the name."""
    name, owner = normalize(name), owner or owner_id()
    records = tuple(records_named(zone_id, name))
    markers = [r for r in records_named(zone_id, ownership_name(name)) if r.type == "TXT"]
    for marker in markers:
        for value in marker.values:
            parsed = parse_ownership(value)
            if parsed is None:
                continue
            env = int(parsed["environment"]) if parsed["environment"].isdigit() else None
            state = OURS if parsed["owner"] == owner else FOREIGN
            return Claim(name=name, state=state, owner=parsed["owner"], environment_id=env, records=records,
                         marker=marker)
    if records or markers:
        return Claim(name=name, state=FOREIGN, records=records, marker=markers[0] if markers else None)
    return Claim(name=name, state=FREE)


def refusal(claim: Claim) -> str:
    """Why ``claim``'s name cannot be used, in words for the person who asked for it."""
    if claim.state == FOREIGN and claim.owner:
        return (f"{claim.name} is already managed by another Slipway instance (owner '{claim.owner}'); "
                "Slipway never overwrites it. Choose another name.")
    if claim.state == FOREIGN:
        types = ", ".join(sorted({r.type for r in claim.records})) or "TXT"
        return (f"{claim.name} already exists in the zone ({types}) and was not created by Slipway; "
                "Slipway never overwrites it. Choose another name, or ask a Platform admin to adopt it.")
    return f"{claim.name} is already used by environment #{claim.environment_id}. Choose another name."


def check_available(zone_id: str, name: str, *, environment_id: int | None,
                    live_environment_ids: set[int]) -> Claim:
    """The claim when ``name`` may be (re)written for ``environment_id``; raises HostnameTaken otherwise.

    A name this instance wrote for an environment that no longer exists is an orphan and may be reused."""
    claim = claim_of(zone_id, name)
    if claim.state == FOREIGN:
        raise HostnameTaken(refusal(claim))
    if (claim.state == OURS and claim.environment_id not in (None, environment_id)
            and claim.environment_id in live_environment_ids):
        raise HostnameTaken(refusal(claim))
    return claim


def desired_record(row: HostnameRecord) -> RecordSet:
    if row.alias:
        return RecordSet(name=row.name, type="A", alias_target=tuple(sorted(
            {"HostedZoneId": row.alias_zone_id, "DNSName": row.value, "EvaluateTargetHealth": False}.items())))
    return RecordSet(name=row.name, type="CNAME", ttl=row.ttl, values=(row.value,))


def marker_record(row: HostnameRecord) -> RecordSet:
    return RecordSet(name=ownership_name(row.name), type="TXT", ttl=row.ttl,
                     values=(ownership_value(row.environment_id),))


def _same(live: RecordSet, wanted: RecordSet) -> bool:
    if wanted.alias_target:
        want = dict(wanted.alias_target)
        have = dict(live.alias_target)
        return live.type == wanted.type and normalize(have.get("DNSName", "")) == normalize(want["DNSName"])
    return (live.type, live.ttl, live.values) == (wanted.type, wanted.ttl, wanted.values)


def upsert_group(row: HostnameRecord, claim: Claim) -> list[Change]:
    """The changes that make ``row`` true in the zone (one atomic group), or [] when it already is."""
    wanted, marker = desired_record(row), marker_record(row)
    current = claim.written()
    if (claim.state == OURS and claim.environment_id == row.environment_id and claim.marker == marker
            and len(current) == 1 and _same(current[0], wanted)):
        return []
    # Switching CNAME <-> alias: the old type must go in the same batch (a CNAME shares its name with nothing).
    stale = [Change("DELETE", r) for r in current if r.type != wanted.type] if claim.state == OURS else []
    return [*stale, Change("UPSERT", wanted), Change("UPSERT", marker)]


def delete_group(claim: Claim, *, environment_id: int | None) -> list[Change]:
    """Delete exactly what this instance wrote at the claim's name (for ``environment_id`` when given)."""
    if claim.state != OURS or (environment_id is not None and claim.environment_id != environment_id):
        return []
    return [*(Change("DELETE", r) for r in claim.written()), Change("DELETE", claim.marker)]
