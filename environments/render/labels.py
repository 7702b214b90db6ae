"""Labels, annotations, names and metadata shared by every rendered object."""

from __future__ import annotations

import hashlib
import re

# The ownership keys (managed-by, environment, colour, owner marker) are the engine's, which
# selects by them: clusters.kube.owner_labels.
from clusters.kube.owner_labels import ENVIRONMENT, MANAGED_BY, MANAGED_BY_SLIPWAY

from .spec import ComponentSpec, EnvironmentSpec

NAME = "app.kubernetes.io/name"
COMPONENT = "app.kubernetes.io/component"
VERSION = "app.kubernetes.io/version"
TEAM = "slipway.io/team"
OWNER = "slipway.io/owner"
STAGE = "slipway.io/stage"
REVISION = "slipway.io/revision"
CONFIG_CHECKSUM = "slipway.io/config-checksum"

_LABEL_VALUE_MAX = 63
_INVALID_LABEL_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_NON_ALNUM_ENDS = re.compile(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$")


def sanitize_label_value(value: str) -> str:
    """Turn free text (an owner's e-mail, an image tag) into a valid label value.

    Invalid characters become "-" and the ends are trimmed to alphanumerics. Values longer than 63
    characters keep a short hash of the original so two long owners never share a label value
    (the cost view groups by these labels).
    """
    cleaned = _NON_ALNUM_ENDS.sub("", _INVALID_LABEL_CHARS.sub("-", value))
    if len(cleaned) <= _LABEL_VALUE_MAX:
        return cleaned
    digest = hashlib.sha256(value.encode()).hexdigest()[:8]
    head = _NON_ALNUM_ENDS.sub("", cleaned[: _LABEL_VALUE_MAX - len(digest) - 1])
    return f"{head}-{digest}"


def base_labels(spec: EnvironmentSpec) -> dict[str, str]:
    """The labels every object carries: how Slipway finds (and prunes) what it owns."""
    return {MANAGED_BY: MANAGED_BY_SLIPWAY, ENVIRONMENT: spec.name}


def app_labels(spec: EnvironmentSpec, name: str, role: str) -> dict[str, str]:
    return {**base_labels(spec), NAME: name, COMPONENT: role}


def metadata(
    spec: EnvironmentSpec,
    name: str,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict:
    meta: dict = {"name": name, "namespace": spec.namespace, "labels": labels or base_labels(spec)}
    if annotations:
        meta["annotations"] = annotations
    return meta


def revision_annotations(spec: EnvironmentSpec) -> dict[str, str]:
    # Only on workloads: stamping every object would make each revision touch every object and
    # bury the real changes in drift and apply diffs.
    return {REVISION: str(spec.revision)}


def workload_name(spec: EnvironmentSpec, component: ComponentSpec) -> str:
    """Deployment (and HPA, ConfigMap, Secret prefix) name: blue/green colours live side by side."""
    return f"{component.name}-{spec.colour}" if spec.colour else component.name


def image_reference(component: ComponentSpec) -> str:
    return f"{component.image}@{component.digest}" if component.digest else f"{component.image}:{component.tag}"
