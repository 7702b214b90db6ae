"""Masking personal data while it is copied (after Replibyte's transformers), deterministically.

Every rule maps one value to another with an HMAC keyed per installation, so the same input always
gives the same output: an e-mail masked in ``users`` and in ``orders`` still joins, and a re-run of a
copy produces identical rows. NULL stays NULL except for the ``fixed`` rule.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from portal.quoting import quoted, shortened

from .contracts import CopyError


def masking_key() -> str:
    """The installation's masking key (``SLIPWAY_MASKING_KEY``, else derived from ``SECRET_KEY``)."""
    if settings.SLIPWAY_MASKING_KEY:
        return settings.SLIPWAY_MASKING_KEY
    return hmac.new(settings.SECRET_KEY.encode(), b"slipway-masking", hashlib.sha256).hexdigest()


RULES = ("email", "name", "phone", "hash", "null", "fixed", "keep")

_FIRST = ("Ada Alan Alice Amir Anna Aria Ben Carla Chen Dana David Elena Emil Eva Farah Felix Grace Hana Hugo "
          "Ines Ivan Jade Jonas Julia Kai Kara Leo Lena Liam Lina Luca Maya Mila Nadia Nico Noah Olga Omar Paula "
          "Priya Quinn Rosa Sam Sara Sven Tara Theo Uma Vera Yara Zoe").split()
_LAST = ("Abbott Bauer Becker Brandt Castro Costa Dahl Diaz Eriksen Faber Fischer Garcia Hahn Haas Ito Jansen "
         "Keller Klein Kowalski Lang Larsen Lopez Maier Meyer Moreau Nakamura Novak Okafor Ortiz Park Petrov "
         "Quist Richter Rossi Sato Schulz Silva Stein Tanaka Torres Umar Vogel Wagner Weber Wolf Young Zhang "
         "Ziegler Zimmer").split()


@dataclass(frozen=True)
class Rule:
    kind: str
    value: Any = None

    @classmethod
    def parse(cls, raw: Any, *, where: str = "") -> Rule:
        """``"email"`` or ``{"rule": "fixed", "value": "x"}``; raises CopyError for unknown rules."""
        if isinstance(raw, str):
            raw = {"rule": raw}
        if not isinstance(raw, Mapping) or raw.get("rule") not in RULES:
            raise CopyError(f"Unknown masking rule {quoted(raw)}{' for ' + shortened(where) if where else ''}; "
                            f"use one of {', '.join(RULES)}.")
        value = raw.get("value")
        # The fixed value is written into the copied rows as one SQL literal: a list or an object
        # would be rendered as a row constructor or refused mid-copy.
        if not isinstance(value, str | int | float | None):
            raise CopyError(f"The fixed value{' for ' + where if where else ''} must be text, a number or null.")
        return cls(raw["rule"], value)


def parse_rules(raw: Mapping[str, Any]) -> dict[str, dict[str, Rule]]:
    """``{"users.email": "email", ...}`` or ``{"users": {"email": "email"}}`` → {table: {column: Rule}}."""
    if raw and not isinstance(raw, Mapping):
        raise CopyError("Masking rules are an object: {\"table.column\": \"rule\"} or {\"table\": {\"column\": "
                        "\"rule\"}}.")
    rules: dict[str, dict[str, Rule]] = {}
    for key, value in (raw or {}).items():
        if isinstance(value, Mapping) and "rule" not in value:
            for column, rule in value.items():
                rules.setdefault(key, {})[column] = Rule.parse(rule, where=f"{key}.{column}")
            continue
        table, dot, column = key.partition(".")
        if not dot or not table or not column:
            raise CopyError(f"Masking rules are keyed by 'table.column', not {quoted(key)}.")
        rules.setdefault(table, {})[column] = Rule.parse(value, where=key)
    return rules


class Masker:
    """Applies rules with one installation key. ``apply(rule, value, max_length)`` never raises on data."""

    def __init__(self, key: bytes | str) -> None:
        if not key:
            raise CopyError("Masking needs a key (SLIPWAY_MASKING_KEY).")
        self._key = key.encode() if isinstance(key, str) else key
        self._by_kind: dict[str, Callable[[Rule, Any], Any]] = {
            "email": lambda r, v: self._email(v), "name": lambda r, v: self._name(v),
            "phone": lambda r, v: self._phone(v), "hash": lambda r, v: self._digest(v).hex(),
            "null": lambda r, v: None, "keep": lambda r, v: v,
        }

    def _digest(self, value: Any) -> bytes:
        data = value if isinstance(value, bytes) else str(value).encode()
        return hmac.new(self._key, data, hashlib.sha256).digest()

    def _name(self, value: Any) -> str:
        d = self._digest(value)
        return f"{_FIRST[d[0] % len(_FIRST)]} {_LAST[d[1] % len(_LAST)]}"

    def _email(self, value: Any) -> str:
        d = self._digest(value)
        # The hex tail keeps masked addresses unique when the originals were (UNIQUE indexes hold).
        return f"{_FIRST[d[0] % len(_FIRST)].lower()}.{_LAST[d[1] % len(_LAST)].lower()}.{d[2:8].hex()}@example.com"

    def _phone(self, value: Any) -> str:
        d = int.from_bytes(self._digest(value)[:8], "big")
        return f"+1-555-{d % 1000:03d}-{(d // 1000) % 10000:04d}"

    def apply(self, rule: Rule, value: Any, max_length: int | None = None) -> Any:
        if rule.kind == "fixed":
            return rule.value
        if value is None:
            return None
        masked = self._by_kind[rule.kind](rule, value)
        if isinstance(masked, str) and max_length and len(masked) > max_length:
            masked = masked[:max_length]
        return masked


def missing_rules(personal: list[str], rules: Mapping[str, Mapping[str, Rule]]) -> list[str]:
    """The ``table.column`` entries marked personal that are not masked (no rule, or ``keep``)."""
    missing = []
    for entry in personal:
        table, _, column = entry.partition(".")
        rule = rules.get(table, {}).get(column)
        if rule is None or rule.kind == "keep":
            missing.append(entry)
    return missing
