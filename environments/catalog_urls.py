"""Catalog pages under /catalog/."""

from django.urls import path

from . import catalog_views as views

urlpatterns = [
    path("components/", views.catalog_index, {"table": "components"}, name="catalog-components"),
    path("components/export.csv", views.catalog_export, {"table": "components"}, name="catalog-components-export"),
    path("components/new/", views.component_edit, name="catalog-component-new"),
    path("components/<int:component_id>/", views.component_detail, name="catalog-component"),
    path("components/<int:component_id>/edit/", views.component_edit, name="catalog-component-edit"),
    path("components/<int:component_id>/refresh/", views.component_refresh, name="catalog-component-refresh"),
    path("components/<int:component_id>/versions/", views.component_version_add, name="catalog-version-add"),
    path("image-versions/", views.catalog_index, {"table": "image-versions"}, name="catalog-image-versions"),
    path("image-versions/export.csv", views.catalog_export, {"table": "image-versions"},
         name="catalog-image-versions-export"),
    path("blueprints/", views.catalog_index, {"table": "blueprints"}, name="catalog-blueprints"),
    path("blueprints/export.csv", views.catalog_export, {"table": "blueprints"}, name="catalog-blueprints-export"),
    path("blueprints/new/", views.blueprint_edit, name="catalog-blueprint-new"),
    path("blueprints/import/", views.blueprint_import, name="catalog-blueprint-import"),
    path("blueprints/<int:blueprint_id>/", views.blueprint_detail, name="catalog-blueprint"),
    path("blueprints/<int:blueprint_id>/edit/", views.blueprint_edit, name="catalog-blueprint-edit"),
    path("blueprints/<int:blueprint_id>/document/", views.blueprint_document, name="catalog-blueprint-document"),
    path("registries/", views.catalog_index, {"table": "registries"}, name="catalog-registries"),
    path("registries/export.csv", views.catalog_export, {"table": "registries"}, name="catalog-registries-export"),
    path("registries/new/", views.registry_edit, name="catalog-registry-new"),
    path("registries/<int:registry_id>/edit/", views.registry_edit, name="catalog-registry-edit"),
]
