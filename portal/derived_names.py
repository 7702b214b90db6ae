"""Names Slipway derives for outside systems (databases, users, Redis prefixes, buckets, namespaces…).

Every such name is a readable head taken from the user-chosen name plus a fixed-length suffix hashed
from the owning object's identity (this installation + kind + primary key). The suffix is always the
last ``SUFFIX_LENGTH`` characters, so however the head is cut to fit a system's length limit, two
different owners never get the same name, and the same owner always gets the same one. Names are
derived once and stored on the owning row; callers never re-derive a name to find an existing object.

The same identity, written next to the object (a registry row, a tag, a label), is Slipway's
ownership marker: before taking over or deleting an object that already exists, callers compare it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

from django.conf import settings

SUFFIX_LENGTH = 10  # base32, 50 bits: far from any birthday collision among one installation's objects


def instance_id() -> str:
    """This installation's id: stable across restarts, different for two installations that share
    outside systems (derived from ``SLIPWAY_INSTANCE_ID`` and the database that holds its objects)."""
    db = settings.DATABASES["default"]
    seed = f"{settings.SLIPWAY_INSTANCE_ID}|{db.get('HOST', '')}|{db.get('PORT', '')}|{db.get('NAME', '')}"
    return "slipway-" + hashlib.sha256(seed.encode()).hexdigest()[:12]


def owner_marker(kind: str, pk: int) -> str:
    """The ownership marker of one object: ``<instance id>/<kind>/<pk>`` (ASCII, at most ~50 characters)."""
    return f"{instance_id()}/{kind}/{pk}"


def stable_suffix(key: str) -> str:
    """``SUFFIX_LENGTH`` characters of [a-z2-7] hashed from ``key``; valid in every system we name things in."""
    digest = hashlib.sha256(key.encode()).digest()
    return base64.b32encode(digest).decode().lower()[:SUFFIX_LENGTH]


@dataclass(frozen=True)
class NameRule:
    """What one outside system accepts: ``limit`` characters, ``allowed`` as a regex character class
    (lower case), ``separator`` between words and before the suffix, a fixed ``prefix``."""

    limit: int
    allowed: str = "a-z0-9"
    separator: str = "-"
    prefix: str = ""


MARIADB = NameRule(limit=32, allowed="a-z0-9", separator="_", prefix="slw_")  # user names: 32 (MySQL 5.7)
REDIS_PREFIX = NameRule(limit=100, allowed="a-z0-9._", separator="-")
S3_BUCKET = NameRule(limit=63)  # the caller's base ("slipway") goes into ``prefix``
DNS_LABEL = NameRule(limit=63)  # namespaces and Kubernetes object names


def bounded_name(readable: str, key: str, rule: NameRule) -> str:
    """``<prefix><readable head><separator><suffix of key>``, at most ``rule.limit`` characters.

    Any text is accepted (unicode, spaces, any length): characters outside ``rule.allowed`` become the
    separator. Distinct keys give distinct names; the same key always gives the same name.
    """
    sep = rule.separator
    head = re.sub(f"[^{rule.allowed}]+", sep, readable.lower())
    head = re.sub(f"{re.escape(sep)}{{2,}}", sep, head).strip(sep)
    room = rule.limit - len(rule.prefix) - len(sep) - SUFFIX_LENGTH
    if room < 0:
        raise ValueError(f"prefix {rule.prefix!r} leaves no room for the suffix within {rule.limit}")
    head = head[:room].rstrip(sep)
    suffix = stable_suffix(key)
    return f"{rule.prefix}{head}{sep}{suffix}" if head else f"{rule.prefix}{suffix}"
