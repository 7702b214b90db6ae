"""Infrastructure as code: environments and blueprints as YAML documents.

An ``Environment`` document is the API's create payload arranged as a Kubernetes-style object::

    apiVersion: slipway.io/v1
    kind: Environment
    metadata: {name: qa-1, team: payments, stage: qa, cluster: local}
    spec:
      blueprint: {name: shop, version: 1}
      versions: {api: 2.1.0, web: 1.5.0, worker: 2.0.1}
      ttl_hours: 24          # optional; only used when the document creates the environment

``plan`` compares a document with the live environment of that name on that cluster (create,
update with the revision diff, or unchanged); ``apply_document`` shows that plan, or applies it
through ``environment_create`` / ``environment_update_versions`` when confirmed.
``Blueprint`` documents are planned and applied by ``blueprint_documents`` (which imports this module's
parsing helpers; the ``apply_environment`` command picks either by kind).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.core.exceptions import PermissionDenied, ValidationError

from clusters.models import Cluster
from clusters.selectors import no_cluster_reason
from portal.accounts import authz
from portal.accounts.models import Team
from portal.audit.actor import Actor
from portal.audit.services import audited
from portal.quoting import listed, quoted, sorted_keys
from portal.safe_yaml import YAMLRefused
from portal.safe_yaml import load as load_yaml

from . import services
from .catalog.selectors import backing_services_normalised
from .catalog.versions import apply_pick, versions_of
from .catalog.versions import resolve as resolve_versions
from .diff import snapshot_diff
from .models import STAGES, Blueprint, Environment, Rollout
from .personal_data import personal_data_normalised

API_VERSION = "slipway.io/v1"
KINDS = ("Environment", "Blueprint")
MAX_TTL_HOURS = 24 * 30
CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"
PLAN_ACTIONS = (CREATE, UPDATE, UNCHANGED)


# --- export -------------------------------------------------------------------------------------------------------


def environment_document(environment: Environment) -> dict[str, Any]:
    """The environment's current revision as a document that ``plan`` finds ``unchanged``."""
    snapshot = environment.current_revision.snapshot if environment.current_revision else {"components": []}
    return {
        "apiVersion": API_VERSION,
        "kind": "Environment",
        "metadata": {"name": environment.name, "team": environment.team.slug, "stage": environment.stage,
                     "cluster": environment.cluster.name},
        "spec": {"blueprint": {"name": environment.blueprint.name, "version": environment.blueprint.version},
                 "versions": dict(sorted(versions_of(snapshot).items()))},
    }


def blueprint_document(blueprint: Blueprint) -> dict[str, Any]:
    """A blueprint version's definition; ``blueprint_documents.plan`` finds it ``unchanged`` (if it is the latest)."""
    return {
        "apiVersion": API_VERSION,
        "kind": "Blueprint",
        "metadata": {"name": blueprint.name, "description": blueprint.description},
        "spec": {
            "version": blueprint.version,
            "components": [{"name": c.name, "image_repository": c.image_repository}
                           for c in blueprint.components.order_by("name")],
            "backing_services": backing_services_normalised(blueprint.backing_services),
            "stage_overrides": dict(blueprint.stage_overrides or {}),
            "personal_data": personal_data_normalised(blueprint.personal_data),
        },
    }


def to_yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False, allow_unicode=True)


# --- parse and validate -------------------------------------------------------------------------------------------


def parse_document(source: str | bytes | dict[str, Any]) -> dict[str, Any]:
    """YAML text (or an already parsed mapping) → the document mapping. Raises ValidationError."""
    if isinstance(source, str | bytes):
        try:
            loaded = load_yaml(source, what="document")
        except YAMLRefused as exc:
            raise ValidationError({"document": [str(exc)]}) from exc
    else:
        loaded = source
    if not isinstance(loaded, dict):
        raise ValidationError({"document": ["The document must be a YAML mapping with apiVersion, kind, "
                                            "metadata and spec."]})
    return loaded


@dataclass
class Plan:
    """What applying a document would do. ``rows`` are ``snapshot_diff`` rows (empty unless an update)."""

    action: str
    name: str
    cluster: Cluster
    team: Team
    stage: str
    blueprint: Blueprint
    versions: dict[str, str]
    ttl_hours: int | None = None
    environment: Environment | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    applied: bool = False
    rollout: Rollout | None = None

    @property
    def revision(self) -> int | None:
        """The live revision the plan was computed against (None for a create)."""
        current = self.environment.current_revision if self.environment else None
        return current.number if current else None

    def summary(self) -> dict[str, Any]:
        return {"action": self.action, "name": self.name, "cluster": self.cluster.name, "team": self.team.slug,
                "stage": self.stage, "blueprint": str(self.blueprint), "versions": self.versions,
                "ttl_hours": self.ttl_hours, "revision": self.revision,
                "changes": [{k: r[k] for k in ("component", "field", "before", "after")} for r in self.rows]}


def mapping_at(document: dict, key: str, errors: dict[str, list[str]]) -> dict[str, Any]:
    value = document.get(key)
    if not isinstance(value, dict):
        errors.setdefault(key, []).append(f"'{key}' must be a mapping.")
        return {}
    return value


def text_at(section: dict, key: str, path: str, errors: dict[str, list[str]]) -> str | None:
    value = section.get(key)
    if value is None or value == "":
        errors.setdefault(path, []).append(f"'{path}' is required.")
        return None
    if not isinstance(value, str):
        errors.setdefault(path, []).append(f"'{path}' must be text.")
        return None
    return value


def _validate(document: dict[str, Any]) -> dict[str, Any]:
    """Check the shape and resolve the references; every problem at once, keyed by document path."""
    errors: dict[str, list[str]] = {}
    if document.get("apiVersion") != API_VERSION:
        errors["apiVersion"] = [f"Use apiVersion: {API_VERSION} (got {quoted(document.get('apiVersion'))})."]
    kind = document.get("kind")
    if kind == "Blueprint":
        raise ValidationError({"kind": ["This is a Blueprint document: import it on Catalog → Blueprints → Import "
                                        "YAML, POST it to /api/v1/blueprints/apply/, or run manage.py "
                                        "apply_environment (which takes either kind)."]})
    if kind != "Environment":
        errors["kind"] = [f"Use kind: Environment (got {quoted(kind)})."]
    metadata, spec = mapping_at(document, "metadata", errors), mapping_at(document, "spec", errors)
    unknown = sorted_keys(set(document) - {"apiVersion", "kind", "metadata", "spec"})
    if unknown:
        errors["document"] = [f"Unknown top-level keys: {listed(unknown)}."]
    for section, allowed, path in ((metadata, {"name", "team", "stage", "cluster"}, "metadata"),
                                   (spec, {"blueprint", "versions", "ttl_hours"}, "spec")):
        extra = sorted_keys(set(section) - allowed)
        if extra:
            errors.setdefault(path, []).append(f"Unknown keys in {path}: {listed(extra)}.")

    name = text_at(metadata, "name", "metadata.name", errors)
    stage = metadata.get("stage", "qa")
    if not isinstance(stage, str) or stage not in dict(STAGES):
        errors["metadata.stage"] = [f"{quoted(stage)} is not a stage; use one of {', '.join(s for s, _ in STAGES)}."]
    cluster = team = blueprint = None
    cluster_name = text_at(metadata, "cluster", "metadata.cluster", errors)
    if cluster_name:
        cluster = Cluster.objects.filter(name=cluster_name).first()
        if cluster is None:
            reason = no_cluster_reason()  # none at all: say why, as "New environment" does
            errors["metadata.cluster"] = [f"No cluster is named {quoted(cluster_name)}." + (f" {reason.message}"
                                                                                        if reason else "")]
    team_slug = text_at(metadata, "team", "metadata.team", errors)
    if team_slug:
        team = Team.objects.filter(slug=team_slug).first()
        if team is None:
            errors["metadata.team"] = [f"No team has the slug {quoted(team_slug)}."]

    reference = spec.get("blueprint")
    if isinstance(reference, str):
        reference = {"name": reference}
    if not isinstance(reference, dict) or not isinstance(reference.get("name"), str):
        errors["spec.blueprint"] = ["Give the blueprint as {name: ..., version: N}."]
    else:
        found = Blueprint.objects.filter(name=reference["name"])
        version = reference.get("version")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            errors["spec.blueprint"] = [f"The blueprint version must be a whole number (got {quoted(version)})."]
        elif version is not None:
            blueprint = found.filter(version=version).first()
            if blueprint is None:
                errors["spec.blueprint"] = [f"Blueprint {quoted(reference['name'])} has no version {version}."]
        else:
            blueprint = found.order_by("-version").first()  # no version: the newest
            if blueprint is None:
                errors["spec.blueprint"] = [f"No blueprint is named {quoted(reference['name'])}."]

    versions = spec.get("versions")
    if not isinstance(versions, dict) or not versions:
        errors["spec.versions"] = ["Give spec.versions as a mapping of component name to image tag."]
        versions = None
    else:
        # YAML reads 2 as a number (fine) but 1.10 as 1.1: a float tag must be quoted to mean what it says.
        bad = sorted(str(k) for k, v in versions.items() if not isinstance(v, str | int) or isinstance(v, bool))
        if bad:
            errors["spec.versions"] = [f"The versions of {listed(bad)} must be image tags (quote tags such as "
                                       "\"1.10\": YAML reads them as numbers)."]
            versions = None
        else:
            versions = {str(k): str(v) for k, v in versions.items()}
    if blueprint is not None and versions is not None:
        try:
            resolve_versions(blueprint, versions)
        except ValidationError as exc:
            errors["spec.versions"] = exc.message_dict["versions"]

    ttl_hours = spec.get("ttl_hours")
    if ttl_hours is not None and (isinstance(ttl_hours, bool) or not isinstance(ttl_hours, int)
                                  or not 1 <= ttl_hours <= MAX_TTL_HOURS):
        errors["spec.ttl_hours"] = [f"ttl_hours must be a whole number from 1 to {MAX_TTL_HOURS}."]
    if errors:
        raise ValidationError(errors)
    return {"name": name, "cluster": cluster, "team": team, "stage": stage, "blueprint": blueprint,
            "versions": dict(sorted(versions.items())), "ttl_hours": ttl_hours}


# --- plan and apply -----------------------------------------------------------------------------------------------


def _desired_snapshot(environment: Environment, versions: dict[str, str]) -> dict[str, Any]:
    """The live snapshot with the document's versions, as ``environment_update_versions`` would record it."""
    current = versions_of(environment.current_revision.snapshot)
    resolved = resolve_versions(environment.blueprint, versions, current=current)
    snapshot = json.loads(json.dumps(environment.current_revision.snapshot))
    for component in snapshot["components"]:
        apply_pick(component, resolved[component["name"]])
    return snapshot


def plan(document: str | bytes | dict[str, Any], *, user: Any) -> Plan:
    """What applying ``document`` would do, judged against the live environment. Reads only.

    Raises ValidationError (field-keyed by document path) for invalid documents, and PermissionDenied
    when the live environment exists but ``user`` may not see it.
    """
    facts = _validate(parse_document(document))
    live = (Environment.objects.select_related("cluster", "team", "blueprint", "current_revision")
            .filter(cluster=facts["cluster"], name=facts["name"]).exclude(status=Environment.DESTROYED).first())
    if live is None:
        return Plan(action=CREATE, **facts)
    if user is not None and not authz.environment_can(user, authz.VIEW, live):
        raise PermissionDenied(f"An environment named '{live.name}' exists on {live.cluster.name} and you "
                               "cannot see it.")
    # Only versions change through a document; the environment's identity is fixed at creation.
    errors = {}
    for path, wanted, actual in (("metadata.team", facts["team"].slug, live.team.slug),
                                 ("metadata.stage", facts["stage"], live.stage),
                                 ("spec.blueprint", str(facts["blueprint"]), str(live.blueprint))):
        if wanted != actual:
            errors[path] = [f"The live environment has {actual}, the document {wanted}: this cannot be changed "
                            "by applying a document (clone or recreate the environment instead)."]
    if live.status == Environment.DESTROYING:
        errors["metadata.name"] = [f"'{live.name}' is being destroyed."]
    if live.current_revision is None:
        errors["metadata.name"] = [f"'{live.name}' has no revision yet."]
    if errors:
        raise ValidationError(errors)
    rows = snapshot_diff(live.current_revision.snapshot, _desired_snapshot(live, facts["versions"]))
    return Plan(action=UPDATE if rows else UNCHANGED, environment=live, rows=rows, **facts)


def apply_document(document: str | bytes | dict[str, Any], *, actor: Actor, user: Any, confirm: bool = False,
                   message: str = "") -> Plan:
    """Plan ``document``; when ``confirm``, carry the plan out (create, or a new revision + rollout).

    Unconfirmed, nothing is written: the returned plan is the diff to show before applying. Confirmed,
    the create/update services audit their own action and an ``environment.import`` event records the plan.
    """
    if not confirm:
        return plan(document, user=user)
    with audited(actor=actor, action="environment.import", details={"confirm": True}) as scope:
        result = plan(document, user=user)
        scope.details.update(result.summary())
        scope.team_slug = result.team.slug
        scope.obj = result.environment
        if result.action == CREATE:
            result.environment = services.environment_create(
                actor=actor, user=user, cluster=result.cluster, blueprint=result.blueprint, name=result.name,
                stage=result.stage, team=result.team, versions=result.versions, ttl_hours=result.ttl_hours)
            result.applied = True
        elif result.action == UPDATE:
            result.rollout = services.environment_update_versions(
                actor=actor, user=user, environment=result.environment, versions=result.versions,
                message=message or "applied from a document")
            result.environment.refresh_from_db()
            result.applied = True
        scope.obj = result.environment
        scope.details["applied"] = result.applied
    return result


class CommandLineOperator:
    """The user stand-in for ``apply_environment`` run without ``--as``: an operator with shell access.

    Whoever can run manage.py on the portal can already change anything, so it passes every rule
    like a superuser; its actions are audited under the system actor ``system:cli``.
    """

    pk = None
    id = None
    is_authenticated = True
    is_superuser = True
    is_active = True

    def get_username(self) -> str:
        return "system:cli"
