"""The orphan pages, at /orphans/ (portal/urls.py includes them)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.orphans_index, name="orphans-index"),
    path("export/", views.orphans_export, name="orphans-export"),
    path("sweep/", views.orphans_sweep, name="orphans-sweep"),
    path("remove/", views.orphans_remove, name="orphans-remove"),
]
