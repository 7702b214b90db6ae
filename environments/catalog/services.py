"""The catalog's use cases (writes): registries, components, image versions and blueprint versions.

Platform admins define the catalog; QA and Developers may add an image version by hand; Managers read.
Blueprint versions are immutable: saving a changed definition makes the next version, saving an
identical one changes nothing, and environments keep the version they were built from.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from portal.accounts import authz
from portal.audit.actor import Actor
from portal.audit.services import audited
from portal.quoting import listed, quoted, sorted_keys

from ..personal_data import personal_data_clean, personal_data_normalised
from ..render.spec import BACKING_KINDS
from ..snapshot import COMPONENT_FIELDS
from .models import DNS_LABEL, STAGES, Blueprint, Component, ImageVersion, Registry
from .selectors import (
    backing_services_normalised,
    blueprint_definition,
    blueprint_latest,
    blueprint_personal_data_kept,
)
from .versions import DIGEST

TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
COUNT_FIELDS = ("replicas", "autoscaling_min", "autoscaling_max")
# may_sleep: a sleeping environment scales this service's StatefulSet to zero too (default false: it stays up).
BACKING_KEYS = frozenset({"kind", "name", "version", "may_sleep"})
COMPONENT_EDITABLE = ("image_repository", "container_port", "health_check_path", "default_env", "command", "args",
                      "replicas", "cpu_request", "memory_request", "cpu_limit", "memory_limit", "autoscaling_min",
                      "autoscaling_max", "ingress_path", "registry", "repository")


def _require_admin(user: Any, what: str) -> None:
    if user is not None and not authz.catalog_can(user, authz.CHANGE):
        raise PermissionDenied(f"Only Platform admins {what}.")


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, (Registry, Component)) else value


# --- registries ---------------------------------------------------------------------------------------------------


def _registry_fields(kind: str, url: str, credentials: dict[str, str] | None) -> None:
    errors = {}
    if kind not in dict(Registry.KINDS):
        errors["kind"] = [f"Choose one of {', '.join(k for k, _ in Registry.KINDS)}."]
    if kind == Registry.V2 and not re.match(r"^https?://[^/\s]+", url or ""):
        errors["url"] = ["A v2 registry needs its base URL, such as https://registry.example.com."]
    if credentials:
        allowed = {"ecr": {"access_key_id", "secret_access_key", "session_token"},
                   "v2": {"username", "password", "token"}}.get(kind, set())
        extra = sorted(set(credentials) - allowed)
        if extra:
            errors["credentials"] = [f"Unknown credential keys for {kind}: {', '.join(extra)} "
                                     f"(use {', '.join(sorted(allowed))})."]
        if kind == "ecr" and not {"access_key_id", "secret_access_key"} <= set(credentials):
            errors.setdefault("credentials", []).append("ECR credentials need access_key_id and secret_access_key.")
    if errors:
        raise ValidationError(errors)


def registry_save(*, actor: Actor, user: Any, registry: Registry | None = None, name: str, kind: str,
                  url: str = "", region: str = "", credentials: dict[str, str] | None = None) -> Registry:
    """Create (``registry=None``) or update a registry. ``credentials=None`` keeps the stored ones, ``{}``
    clears them. Credentials are stored encrypted and appear in no audit event or response."""
    action = "registry.create" if registry is None else "registry.update"
    with audited(actor=actor, action=action, obj=registry,
                 details={"name": name, "kind": kind, "url": url, "region": region,
                          "credentials": "unchanged" if credentials is None else ("set" if credentials
                                                                                  else "cleared")}) as scope:
        _require_admin(user, "manage registries")
        try:
            DNS_LABEL(name)
        except ValidationError as exc:
            raise ValidationError({"name": exc.messages}) from exc
        _registry_fields(kind, url, credentials)
        target = registry or Registry()
        target.name, target.kind, target.url, target.region = name, kind, url.strip(), region.strip()
        if credentials is not None:
            target.credentials = json.dumps(credentials) if credentials else ""
        try:
            with transaction.atomic():
                target.save()
        except IntegrityError as exc:
            raise ValidationError({"name": [f"A registry named '{name}' already exists."]}) from exc
        scope.obj = target
    return target


# --- components and image versions ----------------------------------------------------------------------------


def _component_checks(fields: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    for key in ("cpu_request", "memory_request", "cpu_limit", "memory_limit"):
        if key in fields and not QUANTITY.match(str(fields[key] or "")):
            errors[key] = [f"'{fields[key]}' is not a Kubernetes quantity (e.g. 100m, 256Mi)."]
    low, high = fields.get("autoscaling_min"), fields.get("autoscaling_max")
    if (low is None) != (high is None):
        errors["autoscaling_max"] = ["Give both autoscaling bounds, or neither."]
    elif low is not None and low > high:
        errors["autoscaling_max"] = ["The autoscaling maximum must be at least the minimum."]
    if fields.get("registry") is not None and not fields.get("repository"):
        errors["repository"] = ["Name the repository on the registry (e.g. shop/web)."]
    if fields.get("repository") and fields.get("registry") is None:
        errors["registry"] = ["Choose the registry that holds this repository."]
    if not isinstance(fields.get("default_env", {}), dict):
        errors["default_env"] = ["Give default_env as a mapping of name to value."]
    for key in ("command", "args"):
        if not isinstance(fields.get(key, []), list):
            errors[key] = [f"Give {key} as a list of strings."]
    if errors:
        raise ValidationError(errors)


def component_save(*, actor: Actor, user: Any, component: Component | None = None, name: str,
                   **fields: Any) -> Component:
    """Create (``component=None``) or update a component (Platform admins). Audits the changed fields."""
    action = "component.create" if component is None else "component.update"
    with audited(actor=actor, action=action, obj=component, details={"name": name}) as scope:
        _require_admin(user, "define components")
        unknown = sorted(set(fields) - set(COMPONENT_EDITABLE))
        if unknown:
            raise ValidationError({"__all__": [f"Unknown component fields: {', '.join(unknown)}."]})
        target = component or Component()
        merged = {key: getattr(target, key) for key in COMPONENT_EDITABLE} | fields
        if component is None:
            merged = {key: fields.get(key, Component._meta.get_field(key).get_default())
                      for key in COMPONENT_EDITABLE} | {"registry": fields.get("registry")}
        _component_checks(merged)
        changes = {key: {"before": _plain(getattr(target, key)) if component else None, "after": _plain(value)}
                   for key, value in merged.items() if component is None or getattr(target, key) != value}
        if component is not None and name != component.name:
            raise ValidationError({"name": ["A component keeps its name (revisions refer to it)."]})
        target.name = name
        for key, value in merged.items():
            setattr(target, key, value)
        try:
            target.full_clean(exclude=["registry"])
            with transaction.atomic():
                target.save()
        except IntegrityError as exc:
            raise ValidationError({"name": [f"A component named '{name}' already exists."]}) from exc
        scope.obj = target
        scope.details["changes"] = changes
    return target


def image_version_add(*, actor: Actor, user: Any, component: Component, tag: str, digest: str = "") -> ImageVersion:
    """Add a version by hand (QA, Developers, Platform admins): a tag, and its digest when known."""
    with audited(actor=actor, action="image_version.create", obj=component,
                 details={"component": component.name, "tag": tag, "digest": digest}) as scope:
        if user is not None and not authz.image_version_can(user, authz.CREATE, component):
            raise PermissionDenied("Only QA, Developers and Platform admins add image versions.")
        errors = {}
        if not TAG.match(tag or ""):
            errors["tag"] = [f"'{tag}' is not an image tag (letters, digits, '_', '.', '-'; at most 128)."]
        if digest and not DIGEST.match(digest):
            errors["digest"] = [f"'{digest}' is not a digest (sha256: and 64 hex digits)."]
        if errors:
            raise ValidationError(errors)
        try:
            with transaction.atomic():
                version = ImageVersion.objects.create(component=component, tag=tag, digest=digest)
        except IntegrityError as exc:
            raise ValidationError({"tag": [f"'{component.name}' already has a version '{tag}'."]}) from exc
        scope.obj = version
    return version


# --- blueprints -------------------------------------------------------------------------------------------------


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def blueprint_definition_errors(*, components: list[str], backing_services: Any, stage_overrides: Any,
                                prefix: str = "") -> dict[str, list[str]]:
    """Every problem in a blueprint definition, keyed by field path (``prefix`` + name)."""
    errors: dict[str, list[str]] = {}

    def add(path: str, message: str) -> None:
        errors.setdefault(prefix + path, []).append(message)

    if not components:
        add("components", "A blueprint needs at least one component.")
    known = set(Component.objects.filter(name__in=components).values_list("name", flat=True))
    for name in components:
        if name not in known:
            add("components", f"Unknown component {quoted(name)}: define it in the catalog first.")
    if len(set(components)) != len(components):
        add("components", "A component is listed twice.")
    if not isinstance(backing_services, list):
        add("backing_services", "Give backing_services as a list of {kind, name, version, may_sleep}.")
        backing_services = []
    seen = set()
    for n, backing in enumerate(backing_services):
        if not isinstance(backing, dict):
            add(f"backing_services[{n}]", "Each backing service is a mapping {kind, name, version, may_sleep}.")
            continue
        extra = sorted_keys(set(backing) - BACKING_KEYS)
        if extra:
            add(f"backing_services[{n}]", f"Unknown keys: {listed(extra)}.")
        if backing.get("kind") not in BACKING_KINDS:
            add(f"backing_services[{n}].kind", f"{quoted(backing.get('kind'))} is not a backing service kind; use one "
                f"of {', '.join(BACKING_KINDS)}.")
        name = backing.get("name")
        if not isinstance(name, str) or not re.match(r"^[a-z]([-a-z0-9]{0,50}[a-z0-9])?$", name):
            add(f"backing_services[{n}].name", f"{quoted(name)} is not a name (lower-case letters, digits, '-').")
        elif name in seen or name in components:
            add(f"backing_services[{n}].name", f"{quoted(name)} is used twice (components and backing services share "
                "names).")
        if isinstance(name, str):
            seen.add(name)
        if "version" in backing and not isinstance(backing["version"], str):
            add(f"backing_services[{n}].version", "Quote the version (YAML reads 11.4 as a number).")
        may_sleep = backing.get("may_sleep", False)
        if not isinstance(may_sleep, bool):
            add(f"backing_services[{n}].may_sleep", f"may_sleep is true or false (got {quoted(may_sleep)}): "
                "whether a sleeping environment scales this service's StatefulSet to zero too.")
        elif may_sleep and backing.get("kind") == "s3":
            add(f"backing_services[{n}].may_sleep", "An s3 store runs nothing in the cluster, so it has nothing to "
                "put to sleep: leave may_sleep out.")
    if not isinstance(stage_overrides, dict):
        add("stage_overrides", "Give stage_overrides as {stage: {component: {field: value}}}.")
        stage_overrides = {}
    stages = dict(STAGES)
    for stage, per_component in stage_overrides.items():
        if stage not in stages:
            add("stage_overrides", f"{quoted(stage)} is not a stage; use one of {', '.join(stages)}.")
            continue
        if not isinstance(per_component, dict):
            add(f"stage_overrides.{stage}", "Give {component: {field: value}}.")
            continue
        for component, overrides in per_component.items():
            path = f"stage_overrides.{stage}.{component}"
            if component not in components:
                add(path, f"{quoted(component)} is not a component of this blueprint.")
                continue
            if not isinstance(overrides, dict):
                add(path, "Give {field: value}.")
                continue
            for field, value in overrides.items():
                if field not in COMPONENT_FIELDS:
                    add(f"{path}.{field}", f"{quoted(field)} cannot be overridden per stage; only "
                        f"{', '.join(COMPONENT_FIELDS)} may differ between stages.")
                elif field in COUNT_FIELDS and not _positive_int(value):
                    add(f"{path}.{field}", f"{field} must be a whole number (got {quoted(value)}).")
                elif field not in COUNT_FIELDS and not QUANTITY.match(str(value)):
                    add(f"{path}.{field}", f"{quoted(value)} is not a Kubernetes quantity (e.g. 100m, 256Mi).")
            low, high = overrides.get("autoscaling_min"), overrides.get("autoscaling_max")
            if _positive_int(low) and _positive_int(high) and low > high:
                add(f"{path}.autoscaling_max", "The autoscaling maximum must be at least the minimum.")
    return errors


def blueprint_save(*, actor: Actor, user: Any, name: str, components: list[str], description: str = "",
                   backing_services: list | None = None, stage_overrides: dict | None = None,
                   personal_data: Any = None) -> tuple[Blueprint, bool]:
    """Save a blueprint definition as its next version; (blueprint, created).

    ``personal_data`` None keeps what the latest version declares (``blueprint_personal_data_kept``).
    Identical to the latest version: nothing is written and (latest, False) is returned. Raises
    ValidationError keyed by field (unknown component, bad override stage or field, …).
    """
    latest = blueprint_latest(name)
    action = "blueprint.create" if latest is None else "blueprint.new_version"
    if user is not None and not authz.catalog_can(user, authz.CHANGE):
        with audited(actor=actor, action=action, details={"name": name}):
            _require_admin(user, "define blueprints")
    # A declaration given is checked before comparing: a bad one must not pass for "unchanged". One kept
    # is the stored one, whatever wrote it, and is not judged again.
    personal, personal_errors = (personal_data_clean(personal_data) if personal_data is not None
                                 else (personal_data_normalised(blueprint_personal_data_kept(latest)), {}))
    if personal_errors:
        with audited(actor=actor, action=action, details={"name": name}):
            raise ValidationError(personal_errors)
    definition = {"description": description or "", "components": sorted(components),
                  "backing_services": backing_services_normalised(list(backing_services or [])),
                  "stage_overrides": dict(stage_overrides or {}),
                  "personal_data": personal}
    if latest is not None and blueprint_definition(latest) == definition:
        return latest, False  # nothing changed, nothing written
    with audited(actor=actor, action=action, details={"name": name, **definition}) as scope:
        try:
            DNS_LABEL(name)
        except ValidationError as exc:
            raise ValidationError({"name": exc.messages}) from exc
        errors = blueprint_definition_errors(components=list(components), backing_services=definition[
            "backing_services"], stage_overrides=definition["stage_overrides"])
        if errors:
            raise ValidationError(errors)
        try:
            with transaction.atomic():
                blueprint = Blueprint.objects.create(
                    name=name, version=(latest.version + 1) if latest else 1, description=definition["description"],
                    backing_services=definition["backing_services"], stage_overrides=definition["stage_overrides"],
                    personal_data=definition["personal_data"])
                blueprint.components.set(Component.objects.filter(name__in=components))
        except IntegrityError as exc:  # someone saved the same next version at the same moment
            raise ValidationError({"name": [f"Blueprint '{name}' changed meanwhile; try again."]}) from exc
        scope.obj = blueprint
        scope.details["version"] = blueprint.version
        if latest is not None:
            scope.details["previous"] = blueprint_definition(latest)
    return blueprint, True
