"""Identical across stages: diff two environments' rendered manifests and classify every difference.

Only four kinds of difference are legitimate: identity (names, namespace, owner/team/stage labels,
hostname, passwords), versions (image references), declared per-stage overrides (replicas,
autoscaling, resources) and backing (production uses managed database/cache services, other stages
in-cluster ones). Anything else is "undeclared" — drift between stages that should not exist.
"""

from __future__ import annotations

import re
from typing import Any

from .models import Environment
from .render import render
from .snapshot import spec_for

_OVERRIDE = re.compile(r"(\.replicas$|\.resources\.|minReplicas|maxReplicas|averageUtilization|ResourceQuota)")
_VERSION = re.compile(r"(\.image$|app\.kubernetes\.io/version|slipway\.io/config-checksum)")
_IDENTITY = re.compile(r"(metadata\.namespace|slipway\.io/(environment|team|owner|stage|revision)|\.host$|"
                       r"stringData|\.name$|ingress|namespace)", re.IGNORECASE)


def _flatten(value: Any, path: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key in sorted(value):
            _flatten(value[key], f"{path}.{key}" if path else key, out)
    elif isinstance(value, list) and all(isinstance(v, dict) and "name" in v for v in value) and value:
        for item in value:
            _flatten(item, f"{path}[name={item['name']}]", out)
    else:
        out[path] = value


def _by_object(environment: Environment) -> dict[str, dict[str, Any]]:
    objects = {}
    for manifest in render(spec_for(environment, environment.current_revision)):
        flat: dict[str, Any] = {}
        _flatten(manifest, "", flat)
        name = manifest["metadata"]["name"].replace(environment.namespace, "<namespace>").replace(
            environment.name, "<environment>")
        objects[f"{manifest['kind']}/{name}"] = flat
    return objects


def classify(obj: str, path: str) -> str:
    if obj.startswith("ResourceQuota") or _OVERRIDE.search(path):
        return "override"
    if _VERSION.search(path):
        return "version"
    if obj.startswith(("Namespace/", "Secret/")) or _IDENTITY.search(path):
        return "identity"
    return "undeclared"


def environments_diff(a: Environment, b: Environment) -> list[dict[str, Any]]:
    """Rows ``{"object", "path", "a", "b", "kind"}`` for every rendered field that differs."""
    left, right = _by_object(a), _by_object(b)
    names = {s["name"] for env in (a, b) for s in env.current_revision.snapshot.get("backing_services", [])}
    backing = {f"{kind}/{n}" for n in names for kind in ("StatefulSet", "Service")} | {
        f"Secret/{n}-credentials" for n in names}
    rows = []
    for obj in sorted(left.keys() | right.keys()):
        fa, fb = left.get(obj, {}), right.get(obj, {})
        if not fa or not fb:
            rows.append({"object": obj, "path": "(object)", "a": "present" if fa else "absent",
                         "b": "present" if fb else "absent",
                         "kind": "override" if obj.startswith("HorizontalPodAutoscaler/")
                         else "backing" if obj in backing else "undeclared"})
            continue
        for path in sorted(fa.keys() | fb.keys()):
            va, vb = fa.get(path), fb.get(path)
            if isinstance(va, str) and isinstance(vb, str):
                va_n = va.replace(a.namespace, "<namespace>").replace(a.name, "<environment>")
                vb_n = vb.replace(b.namespace, "<namespace>").replace(b.name, "<environment>")
                if va_n == vb_n:
                    continue
            elif va == vb:
                continue
            kind = classify(obj, path)
            if "password" in path or obj.startswith("Secret/"):
                va, vb = "<redacted>", "<redacted>"
            rows.append({"object": obj, "path": path, "a": va, "b": vb, "kind": kind})
    return rows
