"""Catalog pages under /catalog/: each list (components, image versions, blueprints, registries) at
``<table>/`` named ``catalog-<table>``, its CSV at ``<table>/export.csv`` named ``catalog-<table>-export``."""

from django.urls import path

from . import views

LISTS = ("components", "image-versions", "blueprints", "registries")

urlpatterns = [
    *(path(f"{table}/", views.catalog_index, {"table": table}, name=f"catalog-{table}") for table in LISTS),
    *(path(f"{table}/export.csv", views.catalog_export, {"table": table}, name=f"catalog-{table}-export")
      for table in LISTS),
    path("components/new/", views.component_edit, name="catalog-component-new"),
    path("components/<int:component_id>/", views.component_detail, name="catalog-component"),
    path("components/<int:component_id>/edit/", views.component_edit, name="catalog-component-edit"),
    path("components/<int:component_id>/refresh/", views.component_refresh, name="catalog-component-refresh"),
    path("components/<int:component_id>/versions/", views.component_version_add, name="catalog-version-add"),
    path("blueprints/new/", views.blueprint_edit, name="catalog-blueprint-new"),
    path("blueprints/import/", views.blueprint_import, name="catalog-blueprint-import"),
    path("blueprints/<int:blueprint_id>/", views.blueprint_detail, name="catalog-blueprint"),
    path("blueprints/<int:blueprint_id>/edit/", views.blueprint_edit, name="catalog-blueprint-edit"),
    path("blueprints/<int:blueprint_id>/document/", views.blueprint_document, name="catalog-blueprint-document"),
    path("registries/new/", views.registry_edit, name="catalog-registry-new"),
    path("registries/<int:registry_id>/edit/", views.registry_edit, name="catalog-registry-edit"),
]
