"""The catalog's CSV columns, shared by the pages' and the API's exports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _iso(value: Any) -> str:
    return value.isoformat() if value else ""


TABLES: dict[str, tuple[list[str], Callable[[Any], list[Any]]]] = {
    "components": (
        ["name", "image_repository", "registry", "repository", "container_port", "replicas", "autoscaling_min",
         "autoscaling_max", "versions_synced_at", "versions_sync_error"],
        lambda c: [c.name, c.image_repository, c.registry.name if c.registry else "", c.repository, c.container_port,
                   c.replicas, c.autoscaling_min, c.autoscaling_max, _iso(c.versions_synced_at),
                   c.versions_sync_error]),
    "image-versions": (
        ["component", "tag", "digest", "pushed_at", "size_bytes", "removed_from_registry", "removed_at", "discovered",
         "created_at"],
        lambda v: [v.component.name, v.tag, v.digest, _iso(v.pushed_at), v.size_bytes, v.removed_from_registry,
                   _iso(v.removed_at), v.discovered, _iso(v.created_at)]),
    "blueprints": (
        ["name", "version", "description", "components", "backing_services", "stage_overrides", "created_at"],
        lambda b: [b.name, b.version, b.description, " ".join(sorted(c.name for c in b.components.all())),
                   " ".join(f"{s.get('kind')}:{s.get('name')}" for s in b.backing_services or []),
                   ", ".join(sorted(b.stage_overrides or {})), _iso(b.created_at)]),
    "registries": (
        ["name", "kind", "url", "region", "has_credentials", "created_at"],
        lambda r: [r.name, r.kind, r.url, r.region, bool(r.credentials), _iso(r.created_at)]),
}
