"""Checks that a spec renders into objects the API server will accept.

Failing here, with the field named, beats a half-applied environment and an API server error about
an object the user never wrote.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .spec import BACKING_KINDS, COLOURS, STAGES, ComponentSpec, EnvironmentSpec, RenderError

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Service names must also start with a letter (DNS-1035); components and backing services name one.
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_ENV_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")  # ConfigMap / Secret data key
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+([+._-][a-z0-9]+)*:[a-fA-F0-9]{32,}$")
# The StatefulSet controller labels pods with "<name>-<10-char hash>", which must fit in 63.
_STATEFULSET_NAME_MAX = 52


def validate(spec: EnvironmentSpec) -> None:
    """Raise RenderError for the first problem found in ``spec``; return None when it is renderable."""
    _label("environment name", spec.name)
    _label("namespace", spec.namespace)
    if spec.stage not in STAGES:
        raise RenderError(f"stage {spec.stage!r} must be one of {', '.join(STAGES)}")
    if not isinstance(spec.revision, int) or spec.revision < 0:
        raise RenderError(f"revision {spec.revision!r} must be a non-negative integer")
    if spec.colour not in COLOURS:
        raise RenderError(f"colour {spec.colour!r} must be one of '', 'blue', 'green'")
    if spec.active_colour and not spec.colour:
        raise RenderError(f"active_colour {spec.active_colour!r} is set but colour is not "
                          "(not a blue/green environment)")
    if spec.active_colour not in COLOURS:
        raise RenderError(f"active_colour {spec.active_colour!r} must be one of '', 'blue', 'green'")
    for host in (spec.hostname, *spec.aliases):
        if host and (len(host) > 253 or not _DNS1123_SUBDOMAIN.match(host)):
            raise RenderError(f"hostname {host!r} is not a valid lower-case DNS name")
    _unique("hostname", (spec.hostname, *spec.aliases))
    if spec.ingress_class and not _DNS1123_SUBDOMAIN.match(spec.ingress_class):
        raise RenderError(f"ingress_class {spec.ingress_class!r} is not a valid name")
    _label("ingress_controller_namespace", spec.ingress_controller_namespace)
    for field in ("quota_cpu", "quota_memory", "quota_cpu_limit", "quota_memory_limit"):
        value = getattr(spec, field)
        if value or field in ("quota_cpu", "quota_memory"):
            _quantity(field, value)
    if spec.quota_pods < 1:
        raise RenderError(f"quota_pods {spec.quota_pods} must be at least 1")
    if spec.node_eviction_seconds < 0:
        raise RenderError(f"node_eviction_seconds {spec.node_eviction_seconds} must not be negative")

    _unique("component", (c.name for c in spec.components))
    _unique("backing service", (b.name for b in spec.backing_services))
    backing_names = {b.name for b in spec.backing_services}
    for component in spec.components:
        _component(component)
        if component.name in backing_names:
            raise RenderError(f"component {component.name!r} has the same name as a backing service")
    _unique("ingress path", (c.ingress_path for c in spec.components if c.port is not None and c.ingress_path))
    for backing in spec.backing_services:
        _service_name("backing service", backing.name)
        if backing.kind not in BACKING_KINDS:
            raise RenderError(f"backing service {backing.name!r}: kind {backing.kind!r} must be one of "
                              f"{', '.join(BACKING_KINDS)}")
        if backing.kind != "s3" and len(backing.name) > _STATEFULSET_NAME_MAX:
            raise RenderError(f"backing service {backing.name!r}: at most {_STATEFULSET_NAME_MAX} characters "
                              "(StatefulSet pods carry a revision-hash label derived from the name)")
        if backing.version and not _TAG.match(backing.version):
            raise RenderError(f"backing service {backing.name!r}: version {backing.version!r} is not a valid image tag")
        _quantity(f"backing service {backing.name!r} storage", backing.storage)


def _component(c: ComponentSpec) -> None:
    where = f"component {c.name!r}"
    _service_name("component", c.name)
    if not c.image or ":" in c.image.rsplit("/", 1)[-1] or "@" in c.image or c.image != c.image.strip():
        raise RenderError(f"{where}: image {c.image!r} must be a repository without tag or digest")
    if c.digest and not _DIGEST.match(c.digest):
        raise RenderError(f"{where}: digest {c.digest!r} must look like 'sha256:<hex>'")
    if not c.digest and not _TAG.match(c.tag):
        raise RenderError(f"{where}: tag {c.tag!r} is not a valid image tag")
    if c.port is not None and not 1 <= c.port <= 65535:
        raise RenderError(f"{where}: port {c.port} must be between 1 and 65535")
    if c.port is not None and not c.health_path.startswith("/"):
        raise RenderError(f"{where}: health_path {c.health_path!r} must start with '/'")
    if c.ingress_path is not None and not c.ingress_path.startswith("/"):
        raise RenderError(f"{where}: ingress_path {c.ingress_path!r} must start with '/'")
    if c.replicas < 0:
        raise RenderError(f"{where}: replicas {c.replicas} must not be negative")
    for field in ("cpu_request", "memory_request", "cpu_limit", "memory_limit"):
        _quantity(f"{where} {field}", getattr(c, field))
    # Both or neither: silently ignoring half an autoscaling setting would hide a mistake.
    if (c.autoscaling_min is None) != (c.autoscaling_max is None):
        raise RenderError(f"{where}: set both autoscaling_min and autoscaling_max, or neither")
    if c.autoscaling_min is not None and c.autoscaling_max is not None:
        if c.autoscaling_min < 1:
            raise RenderError(f"{where}: autoscaling_min {c.autoscaling_min} must be at least 1")
        if c.autoscaling_min > c.autoscaling_max:
            raise RenderError(f"{where}: autoscaling_min {c.autoscaling_min} is greater than "
                              f"autoscaling_max {c.autoscaling_max}")
        if not 1 <= c.autoscaling_cpu_percent <= 1000:
            raise RenderError(f"{where}: autoscaling_cpu_percent {c.autoscaling_cpu_percent} is out of range")
    # One envFrom namespace: a key in both ConfigMap and Secret would make one silently win.
    keys = [key for key, _ in c.env] + [key for key, _ in c.secret_env]
    for key in keys:
        if not _ENV_KEY.match(key) or len(key) > 253:
            raise RenderError(f"{where}: environment variable name {key!r} is not valid")
    _unique(f"{where} environment variable", keys)


def _label(what: str, value: str) -> None:
    if not value or len(value) > 63 or not _DNS1123_LABEL.match(value):
        raise RenderError(f"{what} {value!r} must be a DNS-1123 label: at most 63 characters of lower-case "
                          "letters, digits and '-', starting and ending with a letter or digit")


def _service_name(what: str, value: str) -> None:
    if not value or len(value) > 63 or not _DNS1035_LABEL.match(value):
        raise RenderError(f"{what} name {value!r} must be a DNS label: at most 63 characters of lower-case "
                          "letters, digits and '-', starting with a letter and ending with a letter or digit")


def _quantity(what: str, value: str) -> None:
    if not _QUANTITY.match(value or ""):
        raise RenderError(f"{what} {value!r} is not a Kubernetes quantity (e.g. '500m', '2', '512Mi')")


def _unique(what: str, values: Iterable[str | None]) -> None:
    seen: set[str | None] = set()
    for value in values:
        if value in seen:
            raise RenderError(f"duplicate {what} {value!r}")
        seen.add(value)


def is_label_value(value: str) -> bool:
    return len(value) <= 63 and bool(_LABEL_VALUE.match(value))
