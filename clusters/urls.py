"""The cluster pages: list, registration of an existing cluster, detail (health, add-ons, environments)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.cluster_index, name="cluster-list"),
    path("register/", views.cluster_register_view, name="cluster-register"),
    path("<int:cluster_id>/", views.cluster_detail, name="cluster-detail"),
    path("<int:cluster_id>/health-check/", views.cluster_health_check, name="cluster-health-check"),
    path("<int:cluster_id>/addons/", views.cluster_addons, name="cluster-addons"),
]
