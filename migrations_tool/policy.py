"""The production-data policy: what a data copy may carry, decided per store and per direction.

One function (``copy_policy_decide``) decides for the page, the API and ``copydata`` alike; the job
applies the same exclusions again (``store_options_enforced``) so a copy row never carries more than
the policy allows, whoever wrote it.

Directions (a stage in ``PRODUCTION_STAGES`` is production):
- out of production (production → non-production): every store is judged by what the source's
  blueprint declares personal. MariaDB: every personal column needs a masking rule. Redis: keys
  matching a personal pattern are left out of the copy. S3: objects under a personal prefix are left
  out. A store kind the blueprint does not classify at all (nothing said about it) may leave
  production only with a Platform admin's written reason, as may unmasked MariaDB columns.
- into production (any → production): a Platform admin (``authz.data_copy_can``) and the target's name
  typed; personal-data rules do not apply (nothing leaves production), a reason is recorded if given.
- non-production → non-production: no production data is involved; nothing to decide.

What a blueprint declares (``Blueprint.personal_data``):
- a list of ``table.column`` (the original form): MariaDB is classified, Redis and S3 are not;
- or a mapping per store kind, ``{"mysql": ["users.email"], "redis": ["session:*"], "s3": ["uploads/"]}``:
  a kind present is classified (an empty list = declared to hold nothing personal), a kind absent is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError

from portal.accounts import rules

from .masking import missing_rules, parse_rules

OUT_OF_PRODUCTION = "out-of-production"
INTO_PRODUCTION = "into-production"
NON_PRODUCTION = "non-production"

# The option each copier reads to leave personal data out (Redis: globs of key names; S3: key prefixes).
_EXCLUSION_OPTION = {"redis": "exclude", "s3": "exclude_prefixes"}
_WHAT = {"mysql": "columns", "redis": "keys", "s3": "objects"}
_NAMES = {"mysql": "MariaDB", "redis": "Redis", "s3": "S3"}


@dataclass(frozen=True)
class PersonalData:
    """What a blueprint marks personal, per store kind; a kind missing from ``declared`` is unclassified."""

    declared: Mapping[str, tuple[str, ...]]

    @classmethod
    def of(cls, blueprint: Any) -> PersonalData:
        raw = blueprint.personal_data
        if not raw:
            # Never declared (the model's default) is unclassified for every store, MariaDB included:
            # a blueprint that says nothing about its data must not let production data out unmasked.
            return cls({})
        if isinstance(raw, Mapping):
            return cls({kind: _entries(values) for kind, values in raw.items() if kind in _NAMES})
        return cls({"mysql": _entries(raw)})

    def classified(self, kind: str) -> bool:
        return kind in self.declared

    def entries(self, kind: str) -> list[str]:
        return list(self.declared.get(kind, ()))


def _entries(values: Any) -> tuple[str, ...]:
    # A single string is one entry (a hand-edited blueprint), never a list of its characters.
    return (values,) if isinstance(values, str) else tuple(str(v) for v in values or [])


@dataclass
class CopyPolicy:
    """The decision for one copy: its direction, per store the rule that allowed it, the reason given."""

    direction: str
    stores: dict[str, dict[str, Any]] = field(default_factory=dict)
    reason: str = ""
    options: dict[str, Any] = field(default_factory=dict)  # the copy's options with the exclusions applied

    @property
    def overridden(self) -> list[str]:
        return [kind for kind, decision in self.stores.items() if decision["rule"] == "admin-override"]

    def audit(self) -> dict[str, Any]:
        return {"direction": self.direction, "stores": self.stores, "reason": self.reason or None}


def direction_of(source: Any, target: Any) -> str:
    if target.stage in rules.PRODUCTION_STAGES:
        return INTO_PRODUCTION
    if source.stage in rules.PRODUCTION_STAGES:
        return OUT_OF_PRODUCTION
    return NON_PRODUCTION


def store_options_enforced(source: Any, target: Any, kind: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` of store ``kind`` with the source blueprint's personal keys/prefixes added to the
    copier's exclusions when the copy leaves production. Idempotent (the job re-applies it)."""
    merged = dict(options or {})
    option = _EXCLUSION_OPTION.get(kind)
    if option is None or direction_of(source, target) != OUT_OF_PRODUCTION:
        return merged
    personal = PersonalData.of(source.blueprint).entries(kind)
    if personal:
        given = [str(v) for v in merged.get(option) or []]
        merged[option] = list(dict.fromkeys(given + personal))
    return merged


def copy_policy_decide(*, user: Any, source: Any, target: Any, stores: list[str], options: dict[str, Any],
                       override_reason: str = "") -> CopyPolicy:
    """Decide whether ``user`` may copy ``stores`` from ``source`` to ``target`` under the production-data
    policy, and with which options. Role and team checks (``authz.data_copy_can`` on the target) and the
    typed confirmation are the caller's; this judges the data.

    Raises ValidationError (a reason is needed, or masking rules are missing) or PermissionDenied
    (only a Platform admin may override). Pure: reads the blueprint, writes nothing.
    """
    reason = (override_reason or "").strip()
    direction = direction_of(source, target)
    policy = CopyPolicy(direction=direction, options=dict(options))
    if direction != OUT_OF_PRODUCTION:
        rule = "platform-admin-confirmed" if direction == INTO_PRODUCTION else "no-production-data"
        policy.stores = {kind: {"rule": rule} for kind in stores}
        policy.reason = reason if direction == INTO_PRODUCTION else ""
        return policy
    personal = PersonalData.of(source.blueprint)
    unmasked: list[str] = []
    for kind in stores:
        if not personal.classified(kind):
            policy.stores[kind] = {"rule": "admin-override", "unclassified": True}
        elif kind == "mysql":
            unmasked = missing_rules(personal.entries("mysql"), parse_rules(options.get("masking")))
            policy.stores[kind] = ({"rule": "admin-override", "unmasked": unmasked} if unmasked
                                   else {"rule": "masked", "columns": personal.entries("mysql")})
        else:
            entries = personal.entries(kind)
            policy.stores[kind] = ({"rule": "personal-excluded", "excluded": entries} if entries
                                   else {"rule": "declared-not-personal"})
            enforced = store_options_enforced(source, target, kind, options.get(kind) or {})
            if enforced or kind in options:
                policy.options[kind] = enforced
    needing = policy.overridden
    if not needing:
        return policy
    if not reason:
        errors: dict[str, list[str]] = {}
        if unmasked:
            errors["masking"] = [f"Copying from production requires a masking rule for every personal-data "
                                 f"column; missing: {', '.join(unmasked)}."]
        unclassified = [_NAMES[k] for k in needing if policy.stores[k].get("unclassified")]
        if unclassified:
            errors["stores"] = [
                f"The blueprint of {source.name} does not say which {' or '.join(unclassified)} data is personal, "
                f"so copying it out of production needs a Platform admin and a written reason."]
        raise ValidationError(errors)
    if not rules.is_platform_admin(user):
        raise PermissionDenied("Only a Platform admin can copy production data that is not masked or excluded "
                               f"({', '.join(_NAMES[k] + ' ' + _WHAT[k] for k in needing)}) out of production.")
    policy.reason = reason
    return policy
