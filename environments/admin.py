from django.contrib import admin

from .models import Blueprint, Component, Environment, EnvironmentRevision, ImageVersion, Registry


class ImageVersionInline(admin.TabularInline):
    model = ImageVersion
    extra = 1


@admin.register(Component)
class ComponentAdmin(admin.ModelAdmin):
    list_display = ("name", "image_repository", "container_port", "replicas")
    search_fields = ("name", "image_repository")
    inlines = [ImageVersionInline]


@admin.register(Blueprint)
class BlueprintAdmin(admin.ModelAdmin):
    list_display = ("name", "version", "created_at")
    filter_horizontal = ("components",)


@admin.register(Environment)
class EnvironmentAdmin(admin.ModelAdmin):
    list_display = ("name", "cluster", "stage", "team", "owner", "status", "created_at")
    list_filter = ("status", "stage", "team")
    readonly_fields = [f.name for f in Environment._meta.fields]

    def has_add_permission(self, request):
        return False  # environments are created through the service (audit, rollout)


@admin.register(EnvironmentRevision)
class EnvironmentRevisionAdmin(admin.ModelAdmin):
    list_display = ("environment", "number", "message", "created_by", "created_at")
    readonly_fields = [f.name for f in EnvironmentRevision._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Registry)
class RegistryAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "url", "region")
    # Credentials are set through the catalog (write-only), never shown here.
    exclude = ("credentials",)
