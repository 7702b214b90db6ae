"""Differences between two revision snapshots, field by field, for history and promote views."""

from __future__ import annotations

from typing import Any

# What the registry said a followed tag pointed at: a record for drift, not something that is rolled out.
_NOT_DESIRED_STATE = {"tag_digest"}


def snapshot_diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows ``{"component", "field", "before", "after"}`` for every field that differs (stable order)."""
    rows: list[dict[str, Any]] = []
    old = {c["name"]: c for c in before.get("components", [])}
    new = {c["name"]: c for c in after.get("components", [])}
    for name in sorted(old.keys() | new.keys()):
        a, b = old.get(name), new.get(name)
        if a is None or b is None:
            rows.append({"component": name, "field": "(component)", "before": "absent" if a is None else "present",
                         "after": "absent" if b is None else "present"})
            continue
        for field in sorted((a.keys() | b.keys()) - _NOT_DESIRED_STATE):
            if a.get(field) != b.get(field):
                rows.append({"component": name, "field": field, "before": a.get(field), "after": b.get(field)})
    for key in ("blueprint", "stage", "backing_services"):
        if before.get(key) != after.get(key):
            rows.append({"component": "(environment)", "field": key, "before": before.get(key),
                         "after": after.get(key)})
    return rows
