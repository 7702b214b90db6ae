"""Django admin screens of the catalog and environments; every change reaches the audit trail.

Environments and their revisions are read-only here: they are created, changed and destroyed
through the services (rollout, hostnames, data stores), which a row edit or delete would skip.
"""

from typing import Any

from django import forms
from django.contrib import admin

from portal.audit.admin import AuditedAdminMixin

from .models import Blueprint, Component, Environment, EnvironmentRevision, ImageVersion, Registry
from .personal_data import personal_data_clean


class ImageVersionInline(admin.TabularInline):
    model = ImageVersion
    extra = 1


@admin.register(Component)
class ComponentAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "image_repository", "container_port", "replicas")
    search_fields = ("name", "image_repository")
    inlines = [ImageVersionInline]
    audit_kind = "component"


class BlueprintAdminForm(forms.ModelForm):
    class Meta:
        model = Blueprint
        fields = ["name", "version", "description", "components", "backing_services", "stage_overrides",
                  "personal_data"]

    def clean_personal_data(self) -> Any:
        # The same check as the document, API and page. Kept as written (not normalised): the admin edits
        # a row in place, and a rewrite of an equivalent value would show as a change on the audit trail.
        value = self.cleaned_data["personal_data"]
        _, errors = personal_data_clean(value)
        if errors:
            raise forms.ValidationError([f"{path}: {m}" for path, messages in errors.items() for m in messages])
        return value


@admin.register(Blueprint)
class BlueprintAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = BlueprintAdminForm
    list_display = ("name", "version", "created_at")
    filter_horizontal = ("components",)
    audit_kind = "blueprint"


class ReadOnlyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Viewable, never added, changed or deleted from the admin (the services own the lifecycle)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Environment)
class EnvironmentAdmin(ReadOnlyAdmin):
    list_display = ("name", "cluster", "stage", "team", "owner", "status", "created_at")
    list_filter = ("status", "stage", "team")
    audit_kind = "environment"


@admin.register(EnvironmentRevision)
class EnvironmentRevisionAdmin(ReadOnlyAdmin):
    list_display = ("environment", "number", "message", "created_by", "created_at")
    audit_kind = "environment_revision"


@admin.register(Registry)
class RegistryAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "kind", "url", "region")
    # Credentials are set through the catalog (write-only), never shown here.
    exclude = ("credentials",)
    audit_kind = "registry"
