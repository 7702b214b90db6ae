"""Django admin screens whose every change reaches the audit trail.

The portal's pages and API are the everyday way; the admin stays for break-glass work, and so must
leave the same trace. Each save snapshots the object before (read back from the database, since
the admin has already changed the instance in memory) and after, and logs the difference through
``audit_model_change`` tagged ``"via": "django-admin"``. Every ModelAdmin in Slipway mixes this in;
tests/security/test_audit_trail.py fails for a registered model whose admin does not.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from portal.crypto import EncryptedTextField

from .actor import Actor
from .services import audit_model_change

VIA = "django-admin"


def model_snapshot(obj: models.Model, *, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The audited facts of ``obj``: its fields (foreign keys as ids) and many-to-many members, never a secret."""
    facts: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if field.name in exclude or isinstance(field, EncryptedTextField):
            continue
        facts[field.attname] = field.value_from_object(obj)
    for field in obj._meta.many_to_many:
        if field.name not in exclude:
            facts[field.name] = sorted(str(o) for o in getattr(obj, field.name).all()) if obj.pk else []
    return facts


def _message_text(message: Any) -> str:
    if isinstance(message, list):  # the admin's structured change message
        return "; ".join(str(part) for part in message)
    return str(message or "")


class AuditedAdminMixin:
    """Hooks the admin's own change log (addition, change, deletion) to the audit trail."""

    audit_kind = ""  # the action prefix: "user", "team", "component"…
    audit_exclude: frozenset[str] = frozenset({"password"})

    def snapshot(self, obj: Any) -> dict[str, Any]:
        return model_snapshot(obj, exclude=self.audit_exclude)

    def team_slug(self, obj: Any) -> str:
        return getattr(getattr(obj, "team", None), "slug", "") or ""

    def save_model(self, request, obj, form, change) -> None:
        # Before the row and its many-to-many fields are written: the database still has the old state.
        if change and obj.pk:
            obj._slipway_before = self.snapshot(type(obj).objects.get(pk=obj.pk))
        super().save_model(request, obj, form, change)

    def _audit(self, request, obj, action: str, before, after, note: str = "") -> None:
        audit_model_change(actor=Actor.from_request(request), action=f"{self.audit_kind}.{action}", obj=obj,
                           before=before, after=after, via=VIA, team_slug=self.team_slug(obj), note=note)

    def log_addition(self, request, obj, message):
        self._audit(request, obj, "create", None, self.snapshot(obj), note=_message_text(message))
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        # The message names inline rows changed too (image versions of a component); a change without
        # save_model (the admin's password form) has only the message.
        before = getattr(obj, "_slipway_before", None)
        after = self.snapshot(obj) if before is not None else None
        self._audit(request, obj, "update", before, after, note=_message_text(message) or "changed")
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._audit(request, obj, "delete", self.snapshot(obj), None)
        return super().log_deletions(request, queryset)
