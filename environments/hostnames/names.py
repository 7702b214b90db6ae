"""DNS names: rendering and validating hostname patterns, and the ownership TXT record.

The ownership record follows external-dns's registry: a TXT record next to each name says which
Slipway instance (owner id) and which environment wrote it. It sits at ``_slipway.<name>`` rather
than at the name itself because a CNAME may not share its name with any other record type.
"""

from __future__ import annotations

import re
import string

from django.conf import settings
from django.core.exceptions import ValidationError

from portal.derived_names import instance_id

PLACEHOLDERS = ("environment", "team", "stage", "cluster", "zone")
OWNERSHIP_PREFIX = "_slipway."
HERITAGE = "slipway"
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_LITERAL = re.compile(r"^[a-z0-9.-]*$")


def owner_id() -> str:
    """This instance's owner id: ``SLIPWAY_DNS_OWNER_ID``, or one derived from the instance id and the
    database it keeps its environments in (stable across restarts, different for two installations)."""
    return settings.SLIPWAY_DNS_OWNER_ID or instance_id()


def normalize(name: str) -> str:
    """Lower case, no trailing dot (Route 53 answers with one)."""
    return name.strip().rstrip(".").lower()


def dns_name_errors(name: str) -> list[str]:
    """Why ``name`` is not a valid hostname (empty when it is)."""
    if not name:
        return ["The hostname is empty."]
    if len(name) > 253 - len(OWNERSHIP_PREFIX):
        return [f"'{name}' is too long: at most {253 - len(OWNERSHIP_PREFIX)} characters "
                "(its ownership record needs the rest)."]
    bad = [label for label in name.split(".") if not _LABEL.match(label)]
    if bad:
        return [f"'{name}' is not a valid DNS name: label '{bad[0]}' must be 1-63 lower-case letters, digits "
                "or '-', starting and ending with a letter or digit."]
    return []


def in_zone(name: str, zone: str) -> bool:
    return name.endswith("." + zone)


def validate_hostname(name: str, zone: str) -> str:
    """The normalized ``name``; raises ValidationError unless it is a valid name strictly inside ``zone``."""
    name = normalize(name)
    errors = dns_name_errors(name)
    if not errors and not in_zone(name, zone):
        errors = [f"'{name}' is not inside the hosted zone {zone}."]
    if errors:
        raise ValidationError(errors)
    return name


def pattern_errors(pattern: str) -> list[str]:
    """Why ``pattern`` cannot make hostnames (empty when it can)."""
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        return [f"The pattern is malformed ({exc}); use placeholders like {{environment}}."]
    fields = [f for _, f, spec, conv in parsed if f is not None]
    unknown = sorted({f for f in fields if f not in PLACEHOLDERS})
    if unknown:
        return [f"Unknown placeholder {{{unknown[0]}}}; use " + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS) + "."]
    if any(spec or conv for _, f, spec, conv in parsed if f is not None):
        return ["Placeholders take no format specs or conversions."]
    if "environment" not in fields:
        return ["The pattern must contain {environment}, or every environment would get the same name."]
    if not pattern.endswith(".{zone}"):
        return ["The pattern must end with '.{zone}' so that names are inside the hosted zone."]
    literal = "".join(text for text, *_ in parsed)
    if not _LITERAL.match(literal):
        return ["Outside placeholders, use only lower-case letters, digits, '-' and '.'."]
    return []


def render_hostname(pattern: str, *, environment: str, team: str, stage: str, cluster: str, zone: str) -> str:
    """The hostname for one environment; raises ValidationError naming the problem."""
    errors = pattern_errors(pattern)
    if errors:
        raise ValidationError(errors)
    name = normalize(pattern.format(environment=environment, team=team, stage=stage, cluster=cluster, zone=zone))
    errors = dns_name_errors(name)
    if errors:
        raise ValidationError([f"The hostname pattern gives an invalid name: {errors[0]}"])
    return name


def ownership_name(name: str) -> str:
    return OWNERSHIP_PREFIX + name


def ownership_value(environment_id: int, owner: str | None = None) -> str:
    """The quoted TXT value that marks ``environment_id``'s record as written by ``owner`` (this instance)."""
    return f'"heritage={HERITAGE},slipway/owner={owner or owner_id()},slipway/environment={environment_id}"'


def parse_ownership(value: str) -> dict[str, str] | None:
    """``{"owner": …, "environment": …}`` from a TXT value, or None when it is not a Slipway marker."""
    fields = dict(part.split("=", 1) for part in value.strip().strip('"').split(",") if "=" in part)
    if fields.get("heritage") != HERITAGE or "slipway/owner" not in fields:
        return None
    return {"owner": fields["slipway/owner"], "environment": fields.get("slipway/environment", "")}
