"""Django admin screens of users, roles (groups), teams and sign-in lockouts, audited like the services.

The portal's People pages are the everyday way; these screens stay for break-glass work. Every
change goes to the audit trail through ``portal.audit.admin`` with the services' snapshots, so an
admin edit and a People page edit look the same there. Removing a lockout row unlocks the account
for that address (as ``manage.py axes_reset_username`` does), and is audited as ``sign_in_lockout.delete``.
"""

from __future__ import annotations

from typing import Any

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from portal.audit.admin import AuditedAdminMixin

from .models import Team
from .services import guard_rail_refusal, role_snapshot, team_snapshot, user_snapshot

User = get_user_model()


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


@admin.register(AccessAttempt)
class AuditedAccessAttemptAdmin(AuditedAdminMixin, AccessAttemptAdmin):
    """django-axes' failed sign-in counters (AXES_ENABLE_ADMIN is off so that this one registers)."""

    audit_kind = "sign_in_lockout"
    audit_exclude = frozenset({"get_data", "post_data"})  # the attacker's own text, unbounded


for model, model_admin in ((User, AuditedUserAdmin), (Group, AuditedGroupAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
