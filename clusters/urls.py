"""The cluster pages: list, new (Terraform), registration of an existing cluster, detail (runs, lock,
health, add-ons, environments), and each run's page."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.cluster_index, name="cluster-list"),
    path("new/", views.cluster_new, name="cluster-new"),
    path("register/", views.cluster_register_view, name="cluster-register"),
    path("<int:cluster_id>/", views.cluster_detail, name="cluster-detail"),
    path("<int:cluster_id>/health-check/", views.cluster_health_check, name="cluster-health-check"),
    path("<int:cluster_id>/addons/", views.cluster_addons, name="cluster-addons"),
    path("<int:cluster_id>/runs/", views.cluster_run_start, name="cluster-run-start"),
    path("<int:cluster_id>/destroy/", views.cluster_destroy, name="cluster-destroy"),
    path("<int:cluster_id>/force-unlock/", views.cluster_force_unlock, name="cluster-force-unlock"),
    path("<int:cluster_id>/state/restore/", views.cluster_state_restore_view, name="cluster-state-restore"),
    path("<int:cluster_id>/state/accept/", views.cluster_state_accept_view, name="cluster-state-accept"),
    path("runs/<int:run_id>/", views.run_detail, name="terraform-run-detail"),
    path("runs/<int:run_id>/approve/", views.run_approve, name="terraform-run-approve"),
    path("runs/<int:run_id>/discard/", views.run_discard, name="terraform-run-discard"),
]
