"""An environment's chaos settings and experiments as ONE YAML document (infrastructure as code)::

    apiVersion: slipway.io/v1
    kind: ChaosExperiments
    metadata: {environment: qa-1}
    spec:
      settings: {enabled: true, slo_seconds: 30, availability_target: 99.0, badge_runs: 3}
      experiments:
      - {name: kill-api, fault: pod-kill, target: api, schedule: interval, interval_seconds: 600, ...}

Its schema is the API's write serializers (``ChaosSettingsWriteSerializer``, ``ChaosExperimentWriteSerializer``).
Applying it is declarative: listed experiments are created or updated (by name), unlisted ones deleted, the
settings changed, all in one transaction through the ``services`` use cases (audited), so a refused
document changes nothing. Errors name the field's path and its line in the document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction

from portal.audit.actor import Actor

from ..documents import parse_document
from ..models import Environment
from . import services
from .selectors import chaos_settings_of
from .serializers import ChaosExperimentWriteSerializer, ChaosSettingsWriteSerializer

API_VERSION = "slipway.io/v1"
KIND = "ChaosExperiments"
TOP_KEYS = {"apiVersion", "kind", "metadata", "spec"}
SPEC_KEYS = {"settings", "experiments"}


def chaos_document(environment: Environment) -> dict[str, Any]:
    """The environment's chaos state as a document that ``apply`` finds unchanged."""
    current = chaos_settings_of(environment)
    settings_ = {name: getattr(current, name) for name in ChaosSettingsWriteSerializer().fields
                 if name != "approval_reason"}
    if current.approval_reason:
        settings_["approval_reason"] = current.approval_reason
    experiments = [dict(ChaosExperimentWriteSerializer(e).data) for e in environment.chaos_experiments.order_by("name")]
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"environment": environment.name},
            "spec": {"settings": settings_, "experiments": experiments}}


def to_yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False, allow_unicode=True)


@dataclass
class Applied:
    """What ``apply`` changed (names of experiments; whether the settings changed)."""

    settings_changed: bool = False
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


class _Lines:
    """Finds the line of a path (``spec.experiments[1].fault``) in the document's YAML, when it came as text."""

    def __init__(self, text: str | None) -> None:
        # Composed only after portal.safe_yaml accepted the text (bounded size and depth, no aliases).
        self.root = yaml.compose(text, Loader=yaml.SafeLoader) if text else None

    def at(self, *path: str | int) -> str:
        node = self.root
        for part in path:
            if isinstance(node, yaml.MappingNode):
                found = next((v for k, v in node.value if k.value == part), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                found = node.value[part]
            else:
                found = None
            if found is None:
                break
            node = found
        return f"line {node.start_mark.line + 1}: " if node is not None else ""


def _text_of(source: str | bytes | dict[str, Any]) -> str | None:
    """The document's text (None when it came parsed, as JSON); called once ``parse_document`` accepted it."""
    return source.decode("utf-8") if isinstance(source, bytes) else source if isinstance(source, str) else None


def _path(*parts: str | int) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _errors_of(detail: dict, lines: _Lines, *prefix: str | int) -> dict[str, list[str]]:
    return {_path(*prefix, key): [f"{lines.at(*prefix, key)}{m}" for m in (msgs if isinstance(msgs, list) else [msgs])]
            for key, msgs in detail.items()}


def _unknown(data: dict, allowed: set[str] | frozenset[str], lines: _Lines, *prefix: str | int) -> dict:
    return {_path(*prefix, key): [f"{lines.at(*prefix, key)}unknown field; use one of {', '.join(sorted(allowed))}."]
            for key in data if key not in allowed}


def _mapping(value: Any, what: str, lines: _Lines, *path: str | int) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError({_path(*path): [f"{lines.at(*path)}{what} must be a mapping."]})
    return value


def parse(source: str | bytes | dict[str, Any], *, environment: Environment) -> tuple[dict, list[dict]]:
    """Validate a document → (settings changes, experiments' fields). Raises ValidationError whose keys are
    field paths and whose messages start with the line."""
    # The shared parser: bounded YAML (portal.safe_yaml), a mapping, errors under "document".
    document = parse_document(source)
    lines = _Lines(_text_of(source))
    errors: dict[str, list[str]] = _unknown(document, TOP_KEYS, lines)
    if document.get("apiVersion") != API_VERSION:
        errors["apiVersion"] = [f"{lines.at('apiVersion')}use apiVersion: {API_VERSION}."]
    if document.get("kind") != KIND:
        errors["kind"] = [f"{lines.at('kind')}use kind: {KIND} (this endpoint takes chaos documents only)."]
    metadata = _mapping(document.get("metadata"), "metadata", lines, "metadata")
    if metadata.get("environment") not in (None, environment.name):
        errors["metadata.environment"] = [f"{lines.at('metadata', 'environment')}this document names another "
                                          f"environment; it is applied to {environment.name} only."]
    spec = _mapping(document.get("spec"), "spec", lines, "spec")
    errors |= _unknown(spec, SPEC_KEYS, lines, "spec")
    settings_data = _mapping(spec.get("settings"), "spec.settings", lines, "spec", "settings")
    settings_in = ChaosSettingsWriteSerializer(data=settings_data)
    errors |= _unknown(settings_data, set(settings_in.fields), lines, "spec", "settings")
    if not settings_in.is_valid():
        errors |= _errors_of(settings_in.errors, lines, "spec", "settings")
    listed = spec.get("experiments") or []
    if not isinstance(listed, list):
        raise ValidationError({"spec.experiments": [f"{lines.at('spec', 'experiments')}experiments must be a list."]})
    experiments, names = [], set()
    for i, item in enumerate(listed):
        item = _mapping(item, "each experiment", lines, "spec", "experiments", i)
        one = ChaosExperimentWriteSerializer(data=item)
        errors |= _unknown(item, set(one.fields), lines, "spec", "experiments", i)
        if not one.is_valid():
            errors |= _errors_of(one.errors, lines, "spec", "experiments", i)
            continue
        if one.validated_data["name"] in names:
            errors[_path("spec", "experiments", i, "name")] = [
                f"{lines.at('spec', 'experiments', i, 'name')}the name {one.validated_data['name']} is listed twice."]
        names.add(one.validated_data["name"])
        experiments.append({"index": i, **one.validated_data})
    if errors:
        raise ValidationError(errors)
    return dict(settings_in.validated_data), experiments


def apply(source: str | bytes | dict[str, Any], *, environment: Environment, actor: Actor, user: Any) -> Applied:
    """Make the environment's chaos state what the document says (see the module docstring). Raises
    ValidationError (paths and lines) or PermissionDenied; nothing is changed then."""
    settings_changes, wanted = parse(source, environment=environment)
    lines = _Lines(_text_of(source))
    applied = Applied()
    current_doc = chaos_document(environment)
    existing = {e.name: e for e in environment.chaos_experiments.all()}
    current_fields = {e["name"]: e for e in current_doc["spec"]["experiments"]}
    with transaction.atomic():
        changed = {k: v for k, v in settings_changes.items() if current_doc["spec"]["settings"].get(k) != v}
        if changed:
            _use_case(services.chaos_settings_update, lines, ("spec", "settings"), actor=actor, user=user,
                      environment=environment, **changed)
            applied.settings_changed = True
        for name in sorted(set(existing) - {w["name"] for w in wanted}):
            services.chaos_experiment_delete(actor=actor, user=user, experiment=existing[name])
            applied.deleted.append(name)
        for item in wanted:
            index, fields = item.pop("index"), item
            if fields["name"] not in existing:
                _use_case(services.chaos_experiment_create, lines, ("spec", "experiments", index), actor=actor,
                          user=user, environment=environment, **fields)
                applied.created.append(fields["name"])
            elif dict(ChaosExperimentWriteSerializer(fields).data) != current_fields[fields["name"]]:
                _use_case(services.chaos_experiment_update, lines, ("spec", "experiments", index), actor=actor,
                          user=user, experiment=existing[fields["name"]], **fields)
                applied.updated.append(fields["name"])
    return applied


def _use_case(function: Any, lines: _Lines, prefix: tuple[str | int, ...], **kwargs: Any) -> Any:
    """Call a service; its field errors are re-keyed to the document's paths and lines."""
    try:
        return function(**kwargs)
    except ValidationError as exc:
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        raise ValidationError({(_path(*prefix, k) if k != "__all__" else _path(*prefix)):
                               [f"{lines.at(*prefix, k) if k != '__all__' else lines.at(*prefix)}{m}" for m in msgs]
                               for k, msgs in detail.items()}) from exc

