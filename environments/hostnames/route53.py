"""The Route 53 adapter: record sets, change batches within Route 53's limits, throttling, INSYNC.

Clients come from ``portal.aws`` (endpoint overrides point them at the moto server in tests).
botocore's own retries are switched off for this client: Route 53 allows five requests a second
per account, and SDK retries nested inside ours would multiply the attempts; instead every call
goes through ``_call``, which retries throttling with full-jitter exponential back-off.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from portal import aws

from .names import normalize

logger = logging.getLogger(__name__)

# Route 53 limits per ChangeResourceRecordSets request: 1,000 ResourceRecord elements (an UPSERT
# counts twice) and 32,000 characters of record values.
MAX_RECORDS_PER_BATCH = 1000
MAX_CHANGES_PER_BATCH = 1000
MAX_VALUE_CHARS = 32000
THROTTLE_CODES = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded", "PriorRequestNotComplete"})
_NO_SDK_RETRIES = aws.config(retries={"total_max_attempts": 1, "mode": "standard"})


class Route53Error(Exception):
    """A Route 53 call failed; the message says what and why, for people."""


class ZoneNotFound(Route53Error):
    pass


class ChangeTimeout(Route53Error):
    pass


@dataclass(frozen=True)
class RecordSet:
    name: str  # normalized, no trailing dot
    type: str
    ttl: int | None = None
    values: tuple[str, ...] = ()
    alias_target: tuple[tuple[str, Any], ...] = ()  # HostedZoneId, DNSName, EvaluateTargetHealth

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> RecordSet:
        alias = data.get("AliasTarget")
        return cls(name=normalize(data["Name"]), type=data["Type"], ttl=data.get("TTL"),
                   values=tuple(r["Value"] for r in data.get("ResourceRecords", [])),
                   alias_target=tuple(sorted(alias.items())) if alias else ())

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"Name": self.name + ".", "Type": self.type}
        if self.alias_target:
            data["AliasTarget"] = dict(self.alias_target)
        else:
            data["TTL"] = self.ttl
            data["ResourceRecords"] = [{"Value": v} for v in self.values]
        return data


@dataclass
class Change:
    action: str  # CREATE | UPSERT | DELETE
    record: RecordSet

    def weight(self) -> int:
        return len(self.record.values) * (2 if self.action == "UPSERT" else 1)

    def chars(self) -> int:
        return sum(len(v) for v in self.record.values)

    def to_api(self) -> dict[str, Any]:
        return {"Action": self.action, "ResourceRecordSet": self.record.to_api()}


@dataclass
class ChangeResult:
    change_ids: list[str] = field(default_factory=list)
    batches: int = 0


def _client():
    # Building a boto3 client loads the service model (tens of milliseconds); one per configuration
    # is enough (clients are thread-safe), and a changed endpoint or key gets a fresh one.
    # Keyed by process too: a forked worker must not share its parent's connection pool.
    return _cached_client(aws.endpoint_for("route53"), settings.AWS_REGION, os.environ.get("AWS_ACCESS_KEY_ID", ""),
                          os.getpid())


@functools.lru_cache(maxsize=8)
def _cached_client(endpoint: str | None, region: str, access_key: str, pid: int):
    return aws.client("route53", config=_NO_SDK_RETRIES)


def _throttled(exc: aws.ClientError) -> bool:
    error = exc.response.get("Error", {})
    return error.get("Code") in THROTTLE_CODES or "rate exceeded" in str(error.get("Message", "")).lower()


def _call(client, operation: str, **kwargs: Any) -> dict[str, Any]:
    """One API call, retried on throttling with full-jitter back-off; other errors become Route53Error."""
    attempts = max(1, settings.SLIPWAY_ROUTE53_RETRY_ATTEMPTS)
    base, cap = settings.SLIPWAY_ROUTE53_RETRY_BASE_SECONDS, settings.SLIPWAY_ROUTE53_RETRY_MAX_SECONDS
    for attempt in range(1, attempts + 1):
        try:
            return getattr(client, operation)(**kwargs)
        except aws.ClientError as exc:
            error = exc.response.get("Error", {})
            code, message = error.get("Code", "Error"), error.get("Message", "")
            if _throttled(exc) and attempt < attempts:
                delay = random.uniform(0, min(cap, base * 2 ** (attempt - 1)))
                logger.info("route53 %s throttled (%s), retry %d/%d in %.2fs", operation, code, attempt,
                            attempts - 1, delay)
                time.sleep(delay)
                continue
            if _throttled(exc):
                raise Route53Error(f"Route 53 kept refusing {operation} with {code} ({message or 'Rate exceeded'}) "
                                   f"after {attempts} attempts; nothing was changed by that call, try again "
                                   "later.") from exc
            if code in ("NoSuchHostedZone", "InvalidHostedZoneId"):
                raise ZoneNotFound(f"Hosted zone {kwargs.get('HostedZoneId') or kwargs.get('Id')} was not found "
                                   "in Route 53.") from exc
            raise Route53Error(f"Route 53 {operation} failed: {code}: {message}") from exc
        except aws.BotoCoreError as exc:
            raise Route53Error(f"Route 53 is unreachable ({type(exc).__name__}: {exc}).") from exc
    raise AssertionError("unreachable")


def find_zone(zone: str) -> tuple[str, str]:
    """``(zone id, zone name)`` for a zone given by id (``Z…`` or ``/hostedzone/Z…``) or by domain name.

    Raises ZoneNotFound when Route 53 has no such zone."""
    client, zone = _client(), zone.strip()
    if "." not in zone.rstrip("."):
        found = _call(client, "get_hosted_zone", Id=zone.split("/")[-1])["HostedZone"]
        return found["Id"].split("/")[-1], normalize(found["Name"])
    wanted = normalize(zone)
    page = _call(client, "list_hosted_zones_by_name", DNSName=wanted + ".", MaxItems="10")
    matches = [z for z in page["HostedZones"] if normalize(z["Name"]) == wanted]
    private = [z for z in matches if not z.get("Config", {}).get("PrivateZone")]
    chosen = (private or matches)[:1]
    if not chosen:
        raise ZoneNotFound(f"Route 53 has no hosted zone named {wanted}.")
    return chosen[0]["Id"].split("/")[-1], wanted


def records_named(zone_id: str, name: str) -> list[RecordSet]:
    """Every record set at exactly ``name`` (all types)."""
    name = normalize(name)
    page = _call(_client(), "list_resource_record_sets", HostedZoneId=zone_id, StartRecordName=name + ".",
                 MaxItems="20")
    return [r for r in map(RecordSet.from_api, page["ResourceRecordSets"]) if r.name == name]


def iter_records(zone_id: str) -> Iterator[RecordSet]:
    """Every record set in the zone, page by page (each page call retried on throttling)."""
    client, kwargs = _client(), {"HostedZoneId": zone_id, "MaxItems": "300"}
    while True:
        page = _call(client, "list_resource_record_sets", **kwargs)
        yield from map(RecordSet.from_api, page["ResourceRecordSets"])
        if not page.get("IsTruncated"):
            return
        kwargs.update(StartRecordName=page["NextRecordName"], StartRecordType=page["NextRecordType"])
        if page.get("NextRecordIdentifier"):
            kwargs["StartRecordIdentifier"] = page["NextRecordIdentifier"]


def split_batches(groups: Sequence[Sequence[Change]]) -> list[list[Change]]:
    """Pack groups of changes into batches within Route 53's limits. A group (a record and its
    ownership TXT) always stays in one batch, so each name is written or deleted atomically."""
    batches: list[list[Change]] = []
    current: list[Change] = []
    weight = chars = 0
    for group in groups:
        g_weight, g_chars = sum(c.weight() for c in group), sum(c.chars() for c in group)
        if g_weight > MAX_RECORDS_PER_BATCH or len(group) > MAX_CHANGES_PER_BATCH or g_chars > MAX_VALUE_CHARS:
            raise Route53Error("One name's changes exceed Route 53's limits for a single change batch.")
        if current and (weight + g_weight > MAX_RECORDS_PER_BATCH or len(current) + len(group) > MAX_CHANGES_PER_BATCH
                        or chars + g_chars > MAX_VALUE_CHARS):
            batches.append(current)
            current, weight, chars = [], 0, 0
        current.extend(group)
        weight += g_weight
        chars += g_chars
    if current:
        batches.append(current)
    return batches


def change(zone_id: str, groups: Sequence[Sequence[Change]], *, comment: str = "slipway") -> ChangeResult:
    """Submit the changes, split into as few batches as the limits allow. Returns the change ids.

    Each batch is atomic in Route 53. When a later batch fails, earlier ones stay applied (they are
    independent groups); the raised Route53Error says how many were applied."""
    client, result = _client(), ChangeResult()
    batches = split_batches(groups)
    for number, batch in enumerate(batches, start=1):
        try:
            answer = _call(client, "change_resource_record_sets", HostedZoneId=zone_id,
                           ChangeBatch={"Comment": comment[:256], "Changes": [c.to_api() for c in batch]})
        except Route53Error as exc:
            if number > 1:
                raise Route53Error(f"{exc} ({number - 1} of {len(batches)} change batches were applied: "
                                   f"{', '.join(result.change_ids)})") from exc
            raise
        result.change_ids.append(answer["ChangeInfo"]["Id"].split("/")[-1])
        result.batches += 1
    return result


def wait_insync(change_ids: Sequence[str], *, timeout: float | None = None, poll: float | None = None) -> None:
    """Poll GetChange until every change is INSYNC; raises ChangeTimeout after ``timeout`` seconds."""
    timeout = settings.SLIPWAY_DNS_CHANGE_TIMEOUT_SECONDS if timeout is None else timeout
    poll = settings.SLIPWAY_DNS_CHANGE_POLL_SECONDS if poll is None else poll
    client, pending = _client(), list(dict.fromkeys(change_ids))
    deadline = time.monotonic() + timeout
    while pending:
        pending = [cid for cid in pending if _call(client, "get_change", Id=cid)["ChangeInfo"]["Status"] != "INSYNC"]
        if not pending:
            return
        if time.monotonic() >= deadline:
            raise ChangeTimeout(f"Route 53 change(s) {', '.join(pending)} were accepted but not INSYNC after "
                                f"{timeout:g}s; the records are written, DNS servers have not all caught up yet. "
                                "Re-running converges.")
        time.sleep(poll)
