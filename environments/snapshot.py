"""Desired state as data: a revision snapshot from a blueprint, and a render spec from a snapshot."""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.conf import settings

from .catalog.versions import Picked, apply_pick
from .models import Blueprint, Environment, EnvironmentRevision
from .render.spec import BackingServiceSpec, ComponentSpec, EnvironmentSpec

COMPONENT_FIELDS = ("replicas", "cpu_request", "memory_request", "cpu_limit", "memory_limit",
                     "autoscaling_min", "autoscaling_max")


def snapshot_from_blueprint(*, blueprint: Blueprint, stage: str, versions: dict[str, Picked]) -> dict[str, Any]:
    """The full desired state for ``stage``: only the blueprint's declared overrides differ per stage."""
    overrides = (blueprint.stage_overrides or {}).get(stage, {})
    components = []
    for component in blueprint.components.order_by("name"):
        item = {
            "name": component.name, "image": component.image_repository,
            "port": component.container_port, "health_path": component.health_check_path,
            "env": dict(sorted((component.default_env or {}).items())), "command": list(component.command or []),
            "args": list(component.args or []), "ingress_path": component.ingress_path,
            **{f: getattr(component, f) for f in COMPONENT_FIELDS},
        }
        apply_pick(item, versions[component.name])
        item.update({k: v for k, v in overrides.get(component.name, {}).items() if k in COMPONENT_FIELDS})
        components.append(item)
    return {"blueprint": {"name": blueprint.name, "version": blueprint.version}, "stage": stage,
            "components": components, "backing_services": list(blueprint.backing_services or [])}


def new_backing_passwords(blueprint: Blueprint) -> str:
    """Fresh passwords for the blueprint's database servers, as the JSON the encrypted field stores."""
    return json.dumps({b["name"]: secrets.token_urlsafe(24) for b in blueprint.backing_services or []
                       if b.get("kind") == "mariadb"})


def spec_for(environment: Environment, revision: EnvironmentRevision) -> EnvironmentSpec:
    """The render input for one revision of an environment (see environments.render.spec)."""
    snap = revision.snapshot
    components = tuple(
        ComponentSpec(
            name=c["name"], image=c["image"], tag=c["tag"], digest=c.get("digest", ""), port=c.get("port"),
            health_path=c.get("health_path", "/healthz"), env=tuple(sorted(c.get("env", {}).items())),
            command=tuple(c.get("command", [])), args=tuple(c.get("args", [])), replicas=c["replicas"],
            cpu_request=c["cpu_request"], memory_request=c["memory_request"], cpu_limit=c["cpu_limit"],
            memory_limit=c["memory_limit"], autoscaling_min=c.get("autoscaling_min"),
            autoscaling_max=c.get("autoscaling_max"), ingress_path=c.get("ingress_path"),
        )
        for c in snap["components"]
    )
    passwords = json.loads(environment.backing_passwords or "{}")
    backing = tuple(BackingServiceSpec(kind=b["kind"], name=b["name"], version=b.get("version", ""),
                                       password=passwords.get(b["name"], ""), may_sleep=b.get("may_sleep") is True)
                    for b in snap.get("backing_services", []))
    owner = environment.owner.get_username() if environment.owner else "system"
    return EnvironmentSpec(
        name=environment.name, namespace=environment.namespace, team=environment.team.slug, owner=owner,
        stage=environment.stage, revision=revision.number, hostname=environment.hostname, components=components,
        aliases=tuple(environment.hostname_records.filter(extra=True).exclude(state="retired")
                      .values_list("name", flat=True)),
        backing_services=backing, in_cluster_backing=environment.stage != "prod",
        colour=snap.get("colour", ""), active_colour=environment.active_colour or snap.get("colour", ""),
        persistent_backing=environment.cluster.kind != "local",
        owner_marker=environment.ownership_marker,
        node_eviction_seconds=settings.SLIPWAY_NODE_EVICTION_SECONDS,
    )
