"""The environment's single Ingress: one rule per hostname (primary, then extra), one path per exposed component."""

from __future__ import annotations

from .labels import base_labels, metadata
from .spec import EnvironmentSpec
from .workloads import SERVICE_PORT


def render_ingress(spec: EnvironmentSpec) -> list[dict]:
    """An Ingress named after the environment (one rule per hostname: the primary one, then the extra ones),
    or nothing when there is no hostname or nothing to expose."""
    exposed = [c for c in spec.components if c.port is not None and c.ingress_path]
    if not spec.hostname or not exposed:
        return []
    # Longest path first: nginx picks the longest prefix anyway, but some controllers take the
    # first match, and a fixed order keeps the output independent of the component order.
    exposed.sort(key=lambda c: (-len(c.ingress_path or ""), c.ingress_path))
    paths = [
        {
            "path": c.ingress_path,
            "pathType": "Prefix",
            "backend": {"service": {"name": c.name, "port": {"number": SERVICE_PORT}}},
        }
        for c in exposed
    ]
    hosts = (spec.hostname, *spec.aliases)
    ingress_spec: dict = {"rules": [{"host": host, "http": {"paths": paths}} for host in hosts]}
    if spec.ingress_class:
        ingress_spec["ingressClassName"] = spec.ingress_class
    return [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": metadata(spec, spec.name, base_labels(spec)),
            "spec": ingress_spec,
        }
    ]
