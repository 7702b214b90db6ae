"""Version references: a component follows a tag (``1.5.0``) or is pinned to a digest (``1.5.0@sha256:…``).

A revision records, per component, the ``tag``, the pinned ``digest`` (empty when following the tag;
the renderer then writes ``image:tag``) and the ``tag_digest`` the registry reported for the tag when
the revision was made, which is how a moved mutable tag is noticed later (see ``moved_tags``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from ..models import Environment
from .models import Blueprint, ImageVersion

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Picked:
    version: ImageVersion
    pinned_digest: str = ""

    @property
    def reference(self) -> str:
        return f"{self.version.tag}@{self.pinned_digest}" if self.pinned_digest else self.version.tag


def split_reference(value: str) -> tuple[str, str]:
    """``tag`` or ``tag@digest`` → (tag, digest or "")."""
    tag, _, digest = str(value).partition("@")
    return tag, digest


def reference_of(component: dict[str, Any]) -> str:
    """What a snapshot component runs, as the reference a picker, document or API accepts back."""
    return f"{component['tag']}@{component['digest']}" if component.get("digest") else component["tag"]


def versions_of(snapshot: dict[str, Any]) -> dict[str, str]:
    """Component name → the reference it runs, for a revision's snapshot."""
    return {c["name"]: reference_of(c) for c in snapshot["components"]}


def apply_pick(component: dict[str, Any], picked: Picked) -> None:
    """Write ``picked`` into a snapshot component (in place)."""
    component["tag"], component["digest"] = picked.version.tag, picked.pinned_digest
    component["tag_digest"] = picked.version.digest


def resolve(blueprint: Blueprint, versions: dict[str, str], *, current: dict[str, str] | None = None
            ) -> dict[str, Picked]:
    """Each of the blueprint's components → the picked version. Raises ValidationError({"versions": [...]}).

    A pin must name the tag's current digest, or the pin the environment already runs (``current``):
    keeping an old pin while other components change is allowed, pinning an unknown digest is not.
    """
    resolved, errors = {}, {}
    names = set(blueprint.components.values_list("name", flat=True))
    known = {(v.component.name, v.tag): v for v in ImageVersion.objects.filter(
        component__blueprints=blueprint).select_related("component")}
    for extra in sorted(set(versions) - names):
        errors[extra] = f"'{extra}' is not a component of blueprint {blueprint}."
    for name in sorted(names):
        reference = versions.get(name)
        if not reference:
            errors[name] = f"Choose a version for '{name}'."
            continue
        tag, digest = split_reference(reference)
        found = known.get((name, tag))
        if found is None:
            errors[name] = f"'{tag}' is not a known version of '{name}'."
        elif digest and not DIGEST.match(digest):
            errors[name] = f"'{digest}' is not a digest (use sha256: and 64 hex digits) for '{name}'."
        elif digest and digest != found.digest and reference != (current or {}).get(name):
            now = found.digest or "unknown"
            errors[name] = f"'{name}:{tag}' is at {now}, not {digest}: refresh the versions or pick the tag's digest."
        else:
            resolved[name] = Picked(found, digest)
    if errors:
        raise ValidationError({"versions": [msg for _, msg in sorted(errors.items())]})
    return resolved


def moved_tags(environment: Environment) -> list[dict[str, str]]:
    """Components that follow a tag whose digest in the registry differs from the one recorded at rollout.

    Pinned components never move; versions whose digest is unknown (entered by hand) cannot be judged.
    """
    revision = environment.current_revision
    if revision is None:
        return []
    following = [c for c in revision.snapshot.get("components", []) if not c.get("digest") and c.get("tag_digest")]
    if not following:
        return []
    now = {(v.component.name, v.tag): v for v in ImageVersion.objects.filter(
        component__name__in=[c["name"] for c in following]).select_related("component")}
    moved = []
    for component in following:
        version = now.get((component["name"], component["tag"]))
        if version is not None and version.digest and version.digest != component["tag_digest"]:
            moved.append({"component": component["name"], "tag": component["tag"],
                          "rolled_out": component["tag_digest"], "registry": version.digest,
                          "removed": version.removed_from_registry})
    return moved


def moved_tags_record(*, component_names: list[str] | None = None) -> int:
    """Recompute ``Environment.moved_tags`` for live environments (those using ``component_names``, or all).
    Returns how many environments now have a moved tag."""
    live = Environment.objects.exclude(status__in=[Environment.DESTROYED]).select_related("current_revision")
    if component_names is not None:
        live = live.filter(blueprint__components__name__in=component_names).distinct()
    flagged = 0
    for environment in live:
        moved = moved_tags(environment)
        if moved != environment.moved_tags:
            Environment.objects.filter(pk=environment.pk).update(moved_tags=moved)
        flagged += bool(moved)
    return flagged
