"""Sync a component's ImageVersions with its registry repository (button, API action, periodic task).

The registry is read completely before anything is written, and the writes are one transaction:
an unreachable registry, bad credentials or an unknown repository change no version (only the
component's last sync error is recorded). Re-running converges: new tags appear, tags gone from the
registry are marked ``removed_from_registry`` (never deleted: revisions keep pointing at them),
tags that come back are unmarked, and a tag whose digest changed gets the new digest.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from portal.accounts import authz
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.audit.services import audit_record, audited
from portal.redaction import redact

from .models import Component, ImageVersion
from .registries import RegistryError, RegistryTag
from .registries.by_kind import adapter_for
from .versions import moved_tags_record

logger = logging.getLogger(__name__)


def _oldest_first(tags: list[RegistryTag]) -> list[RegistryTag]:
    # Stable sort: tags pushed in the same second (ECR's resolution) keep the registry's listing order,
    # and being created in that order lets ImageVersion's "-created_at" tie-break show the later one first.
    return sorted(tags, key=lambda t: t.pushed_at.timestamp() if t.pushed_at else 0)


@transaction.atomic
def _write(component: Component, tags: list[RegistryTag], now) -> dict[str, list[str]]:
    # The component's row lock serializes two syncs of one component (button + beat): the second one
    # sees what the first wrote and changes nothing, instead of failing on a duplicate tag.
    Component.objects.select_for_update().filter(pk=component.pk).first()
    existing = {v.tag: v for v in ImageVersion.objects.filter(component=component)}
    changes: dict[str, list[str]] = {"added": [], "moved": [], "removed": [], "restored": []}
    seen = set()
    for found in _oldest_first(tags):
        seen.add(found.tag)
        version = existing.get(found.tag)
        if version is None:
            ImageVersion.objects.create(component=component, tag=found.tag, digest=found.digest,
                                        pushed_at=found.pushed_at, size_bytes=found.size_bytes, discovered=True)
            changes["added"].append(found.tag)
            continue
        update: dict[str, Any] = {}
        if version.digest != found.digest:
            if version.digest:
                changes["moved"].append(found.tag)
            update.update(digest=found.digest, pushed_at=found.pushed_at, size_bytes=found.size_bytes)
        elif (version.pushed_at, version.size_bytes) != (found.pushed_at, found.size_bytes) and found.pushed_at:
            update.update(pushed_at=found.pushed_at, size_bytes=found.size_bytes)
        if version.removed_from_registry:
            update.update(removed_from_registry=False, removed_at=None)
            changes["restored"].append(found.tag)
        if update:
            ImageVersion.objects.filter(pk=version.pk).update(**update)
    for tag, version in sorted(existing.items()):
        if tag not in seen and not version.removed_from_registry:
            ImageVersion.objects.filter(pk=version.pk).update(removed_from_registry=True, removed_at=now)
            changes["removed"].append(tag)
    Component.objects.filter(pk=component.pk).update(versions_synced_at=now, versions_sync_error="")
    return changes


def _sync(component: Component, details: dict[str, Any]) -> dict[str, list[str]]:
    if component.registry is None or not component.repository:
        raise ValidationError({"repository": [f"'{component.name}' is not linked to a registry repository."]})
    known = {v.digest: (v.pushed_at, v.size_bytes) for v in component.versions.exclude(digest="")}
    try:
        tags = adapter_for(component.registry).tags(component.repository, known=known)
    except RegistryError as exc:
        Component.objects.filter(pk=component.pk).update(versions_sync_error=redact(str(exc))[:2000])
        raise ValidationError({"repository": [redact(str(exc))]}) from exc
    changes = _write(component, tags, timezone.now())
    details.update(changes, tags=len(tags))
    if changes["moved"] or changes["restored"]:
        details["environments_with_moved_tags"] = moved_tags_record(component_names=[component.name])
    return changes


def component_versions_sync(*, actor: Actor, user: Any | None, component: Component) -> dict[str, list[str]]:
    """Read the component's registry repository and record what changed. ``user=None`` is the system.

    Returns ``{"added", "moved", "removed", "restored"}`` tag lists. Raises ValidationError with the
    registry's problem (nothing written but the error), PermissionDenied for Managers. A person's
    refresh is always audited; the periodic one only when versions changed or a new error appeared,
    so a quiet registry (or one down all night) does not fill the trail every few minutes.
    """
    details = {"registry": str(component.registry or ""), "repository": component.repository}
    if user is not None:
        with audited(actor=actor, action="component.versions_sync", obj=component, details=details) as scope:
            if not authz.image_version_can(user, authz.CREATE, component):
                raise PermissionDenied("Only QA, Developers and Platform admins refresh versions.")
            return _sync(component, scope.details)
    previous_error = component.versions_sync_error
    try:
        changes = _sync(component, details)
    except ValidationError as exc:
        if " ".join(exc.messages) != previous_error:
            audit_record(actor=actor, action="component.versions_sync", obj=component, details=details,
                         outcome=AuditEvent.FAILURE, error=" ".join(exc.messages))
        raise
    if any(changes.values()) or previous_error:
        audit_record(actor=actor, action="component.versions_sync", obj=component, details=details)
    return changes


def components_versions_sync_all() -> dict[str, str]:
    """Periodic: sync every linked component; one failing registry does not stop the others."""
    actor = Actor.system("versions-sync")
    outcome = {}
    for component in Component.objects.exclude(registry=None).exclude(repository="").select_related("registry"):
        try:
            changes = component_versions_sync(actor=actor, user=None, component=component)
        except ValidationError as exc:  # recorded on the component and audited as a failure
            outcome[component.name] = " ".join(exc.messages)
            continue
        outcome[component.name] = ", ".join(f"{k} {len(v)}" for k, v in changes.items() if v) or "unchanged"
    return outcome
