"""Django admin screens of users, roles (groups) and teams, whose every change reaches the audit trail.

The portal's People pages are the everyday way; these screens stay for break-glass work. Each
save snapshots the object before (read back from the database, since the admin has already
changed the instance in memory) and after, and logs the difference through the same function and
in the same shape as the services, tagged ``"via": "django-admin"``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from portal.audit.actor import Actor

from .models import Team
from .services import audit_model_change, guard_rail_refusal, role_snapshot, team_snapshot, user_snapshot

User = get_user_model()
VIA = "django-admin"


class AuditedAdminMixin:
    """Hooks the admin's own change log (addition, change, deletion) to the audit trail."""

    audit_kind = ""  # the action prefix: "user", "team", "role"

    def snapshot(self, obj: Any) -> dict[str, Any]:
        raise NotImplementedError

    def team_slug(self, obj: Any) -> str:
        return ""

    def save_model(self, request, obj, form, change) -> None:
        # Before the row and its many-to-many fields are written: the database still has the old state.
        if change and obj.pk:
            obj._slipway_before = self.snapshot(type(obj).objects.get(pk=obj.pk))
        super().save_model(request, obj, form, change)

    def _audit(self, request, obj, action: str, before, after, note: str = "") -> None:
        audit_model_change(actor=Actor.from_request(request), action=f"{self.audit_kind}.{action}", obj=obj,
                           before=before, after=after, via=VIA, team_slug=self.team_slug(obj), note=note)

    def log_addition(self, request, obj, message):
        self._audit(request, obj, "create", None, self.snapshot(obj))
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        before = getattr(obj, "_slipway_before", None)
        if before is None:  # a change without save_model: the admin's password form
            self._audit(request, obj, "update", None, None, note=_message_text(message))
        else:
            self._audit(request, obj, "update", before, self.snapshot(obj))
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._audit(request, obj, "delete", self.snapshot(obj), None)
        return super().log_deletions(request, queryset)


def _message_text(message: Any) -> str:
    if isinstance(message, list):  # the admin's structured change message
        return "; ".join(str(part) for part in message) or "changed"
    return str(message or "changed")


class AuditedUserAdmin(AuditedAdminMixin, UserAdmin):
    audit_kind = "user"

    def snapshot(self, obj: Any) -> dict[str, Any]:
        return user_snapshot(obj)

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)
        if obj is None:
            return form_class
        acting = request.user

        class GuardedUserForm(form_class):
            """The People pages' guard rails, on the admin's change form too."""

            def clean(self):
                data = super().clean()
                groups = data.get("groups")
                refusal = guard_rail_refusal(
                    user=obj, by=acting, is_active=data.get("is_active", obj.is_active),
                    is_superuser=data.get("is_superuser", obj.is_superuser),
                    role_names=[g.name for g in groups] if groups is not None
                    else obj.groups.values_list("name", flat=True))
                if refusal:
                    raise ValidationError(refusal)
                return data

        return GuardedUserForm


class AuditedGroupAdmin(AuditedAdminMixin, GroupAdmin):
    audit_kind = "role"

    def snapshot(self, obj: Any) -> dict[str, Any]:
        return role_snapshot(obj)


@admin.register(Team)
class TeamAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")
    filter_horizontal = ("members",)
    audit_kind = "team"

    def snapshot(self, obj: Any) -> dict[str, Any]:
        return team_snapshot(obj)

    def team_slug(self, obj: Any) -> str:
        return obj.slug


for model, model_admin in ((User, AuditedUserAdmin), (Group, AuditedGroupAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
