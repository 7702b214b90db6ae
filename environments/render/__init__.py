"""Render an environment revision into Kubernetes manifests.

``render`` is a pure function: no database, no network, no clock, no randomness. The same spec
always gives the same objects in the same order, which is what makes golden-file tests, drift
detection (diff of render(revision) against the live objects) and idempotent re-applies work.
"""

from __future__ import annotations

import json

import yaml

from .backing import render_backing
from .ingress import render_ingress
from .labels import sanitize_label_value
from .namespace import render_namespace
from .spec import BackingServiceSpec, ComponentSpec, EnvironmentSpec, RenderError
from .validation import validate
from .workloads import config_checksum, render_component

__all__ = [
    "KIND_ORDER",
    "BackingServiceSpec",
    "ComponentSpec",
    "EnvironmentSpec",
    "RenderError",
    "config_checksum",
    "object_key",
    "render",
    "sanitize_label_value",
    "to_yaml",
]

# Apply order: the namespace, its guard rails before anything that runs in it, config before the
# pods that read it, workloads before the Services and Ingress that route to them, and HPAs last
# so they find their Deployment. Deleting in reverse order tears down the same way.
KIND_ORDER = (
    "Namespace",
    "ResourceQuota",
    "LimitRange",
    "NetworkPolicy",
    "ServiceAccount",
    "ConfigMap",
    "Secret",
    "Deployment",
    "StatefulSet",
    "Service",
    "Ingress",
    "HorizontalPodAutoscaler",
)
_RANK = {kind: rank for rank, kind in enumerate(KIND_ORDER)}


def render(spec: EnvironmentSpec) -> list[dict]:
    """All objects of the environment as plain dicts, sorted by KIND_ORDER then name.

    Raises RenderError (a ValueError) when the spec is invalid; renders nothing partially.
    Blue/green: only the colour being rendered gets workloads; the shared Services select
    ``active_colour``. The objects of the other colour are left to the caller (rollout engine).
    """
    validate(spec)
    objects = render_namespace(spec)
    for component in spec.components:
        objects += render_component(spec, component)
    for backing in spec.backing_services:
        objects += render_backing(spec, backing)
    objects += render_ingress(spec)
    objects.sort(key=lambda m: (_RANK[m["kind"]], m["metadata"]["name"]))
    _check_unique(objects)
    # The builders share label and probe dicts between objects; a JSON round trip hands out
    # independent plain data (a caller may mutate one object for apply) and keeps YAML alias-free.
    return json.loads(json.dumps(objects))


def object_key(manifest: dict) -> tuple[str, str, str, str]:
    """(apiVersion, kind, namespace, name): identifies an object for apply, drift and pruning."""
    meta = manifest["metadata"]
    return (manifest["apiVersion"], manifest["kind"], meta.get("namespace", ""), meta["name"])


def to_yaml(manifests: list[dict]) -> str:
    """Multi-document YAML with sorted keys: byte-identical for equal manifests."""
    return yaml.safe_dump_all(manifests, sort_keys=True, explicit_start=True, default_flow_style=False)


def _check_unique(objects: list[dict]) -> None:
    # Validation should make this impossible; if two generators ever produce the same object,
    # one would silently overwrite the other on apply, so fail loudly instead.
    seen: set[tuple[str, str, str, str]] = set()
    for manifest in objects:
        key = object_key(manifest)
        if key in seen:
            raise RenderError(f"two rendered objects share the key {key}")
        seen.add(key)
