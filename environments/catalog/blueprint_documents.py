"""Blueprint documents: import a blueprint definition from YAML, with a plan (diff) before applying.

The schema is the export's (``documents.blueprint_document``)::

    apiVersion: slipway.io/v1
    kind: Blueprint
    metadata: {name: shop, description: "Web shop"}
    spec:
      version: 3                 # informational: the version it was exported from
      components: [web, api]     # names, or {name, image_repository} as exported
      backing_services: [{kind: mariadb, name: db, version: "11.4", may_sleep: false}]  # may_sleep: optional
      stage_overrides: {prod: {web: {replicas: 3}}}
      personal_data: {mysql: [customers.email], redis: ["session:*"], s3: [uploads/]}  # left out: kept

``may_sleep`` (a boolean, false when left out) lets a sleeping environment scale that service's StatefulSet
to zero too (``environments/sleep/``).

``personal_data`` (``environments/personal_data.py``) says what a copy out of production must mask
or leave out, per store; a store not listed is unclassified. A document without it keeps what the
latest version declares.

The plan compares the document with the latest version of that name: ``create`` (no blueprint of
that name), ``update`` (the rows show what differs; applying saves the next version — versions are
immutable and environments keep theirs) or ``unchanged`` (applying is a no-op).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

from portal.audit.actor import Actor
from portal.quoting import listed, quoted, sorted_keys

from ..documents import API_VERSION, mapping_at, text_at
from ..personal_data import personal_data_clean, personal_data_normalised
from .models import Blueprint, Component
from .selectors import (
    backing_services_normalised,
    blueprint_definition,
    blueprint_latest,
    blueprint_personal_data_kept,
)
from .services import blueprint_definition_errors, blueprint_save

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"
EMPTY = {"description": "", "components": [], "backing_services": [], "stage_overrides": {}, "personal_data": {}}


@dataclass
class BlueprintPlan:
    action: str
    name: str
    definition: dict[str, Any]
    latest: Blueprint | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    applied: bool = False
    blueprint: Blueprint | None = None

    def summary(self) -> dict[str, Any]:
        return {"action": self.action, "name": self.name, "applied": self.applied,
                "latest_version": self.latest.version if self.latest else None,
                "version": self.blueprint.version if self.blueprint else None,
                "changes": [{"field": r["field"], "before": r["before"], "after": r["after"]} for r in self.rows]}


def _flatten(value: Any, path: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for key in sorted(value, key=str):
            _flatten(value[key], f"{path}.{key}", out)
    else:
        out[path] = value


def _flat(definition: dict[str, Any]) -> dict[str, Any]:
    """A definition as {path: value}; components and backing services are keyed by name, not position."""
    out: dict[str, Any] = {"description": definition["description"]}
    for name in definition["components"]:
        out[f"components.{name}"] = "included"
    for backing in definition["backing_services"]:
        _flatten({k: v for k, v in backing.items() if k != "name"}, f"backing_services.{backing.get('name')}", out)
    for section in ("stage_overrides", "personal_data"):
        _flatten(definition[section], section, out)
        out.pop(section, None)  # an empty mapping adds no path
    return out


def definition_diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows {field, before, after} for each path whose value differs (None: absent on that side)."""
    a, b = _flat(before), _flat(after)
    return [{"component": "(blueprint)", "field": path, "before": a.get(path), "after": b.get(path)}
            for path in sorted(a.keys() | b.keys()) if a.get(path) != b.get(path)]


def _component_names(value: Any, errors: dict[str, list[str]]) -> list[str]:
    if not isinstance(value, list):
        errors["spec.components"] = ["Give spec.components as a list of component names."]
        return []
    names = []
    repositories = dict(Component.objects.values_list("name", "image_repository"))
    for item in value:
        if isinstance(item, dict):
            name = item.get("name")
            extra = sorted_keys(set(item) - {"name", "image_repository"})
            if extra:
                errors.setdefault("spec.components", []).append(
                    f"Unknown keys for component {quoted(name)}: {listed(extra)} (components are defined "
                    "in the catalog; a blueprint lists them).")
            wanted = item.get("image_repository")
            if wanted and name in repositories and wanted != repositories[name]:
                errors.setdefault("spec.components", []).append(
                    f"Component {quoted(name)} has the repository {repositories[name]}, not {quoted(wanted)}: "
                    "change components in the catalog, not in a blueprint.")
        else:
            name = item
        if not isinstance(name, str) or not name:
            errors.setdefault("spec.components", []).append(f"{quoted(item)} is not a component name.")
            continue
        names.append(name)
    return names


def validate(document: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(name, definition) of a Blueprint document. Raises ValidationError keyed by document path."""
    errors: dict[str, list[str]] = {}
    if document.get("apiVersion") != API_VERSION:
        errors["apiVersion"] = [f"Use apiVersion: {API_VERSION} (got {quoted(document.get('apiVersion'))})."]
    metadata, spec = mapping_at(document, "metadata", errors), mapping_at(document, "spec", errors)
    for section, allowed, path in ((document, {"apiVersion", "kind", "metadata", "spec"}, "document"),
                                   (metadata, {"name", "description"}, "metadata"),
                                   (spec, {"version", "components", "backing_services", "stage_overrides",
                                           "personal_data"}, "spec")):
        extra = sorted_keys(set(section) - allowed)
        if extra:
            errors.setdefault(path, []).append(f"Unknown keys in {path}: {listed(extra)}.")
    name = text_at(metadata, "name", "metadata.name", errors) or ""
    description = metadata.get("description") or ""
    if not isinstance(description, str):
        errors["metadata.description"] = ["The description must be text."]
        description = ""
    components = _component_names(spec.get("components"), errors)
    definition = {"description": description, "components": sorted(components),
                  "backing_services": backing_services_normalised(spec.get("backing_services") or []),
                  "stage_overrides": spec.get("stage_overrides") or {}, "personal_data": None}
    if "personal_data" in spec:
        definition["personal_data"], personal_errors = personal_data_clean(spec["personal_data"], prefix="spec.")
        errors.update(personal_errors)
    errors.update(blueprint_definition_errors(
        components=components, backing_services=definition["backing_services"],
        stage_overrides=definition["stage_overrides"], prefix="spec."))
    if errors:
        raise ValidationError(errors)
    return name, definition


def plan(document: dict[str, Any]) -> BlueprintPlan:
    """What applying the document would do, against the latest version of its name. Reads only."""
    name, definition = validate(document)
    latest = blueprint_latest(name)
    if definition["personal_data"] is None:
        definition["personal_data"] = personal_data_normalised(blueprint_personal_data_kept(latest))
    if latest is None:
        return BlueprintPlan(action=CREATE, name=name, definition=definition, rows=definition_diff(EMPTY, definition))
    rows = definition_diff(blueprint_definition(latest), definition)
    return BlueprintPlan(action=UPDATE if rows else UNCHANGED, name=name, definition=definition, latest=latest,
                         rows=rows, blueprint=None if rows else latest)


def apply(document: dict[str, Any], *, actor: Actor, user: Any, confirm: bool = False) -> BlueprintPlan:
    """The plan; when ``confirm``, save it as the next version (``services.blueprint_save`` audits it)."""
    result = plan(document)
    if not confirm:
        return result
    blueprint, created = blueprint_save(actor=actor, user=user, name=result.name, **result.definition)
    result.blueprint, result.applied = blueprint, created
    return result
