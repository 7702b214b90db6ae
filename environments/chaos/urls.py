"""Chaos pages, included at the root of /environments/: an environment's under /environments/<id>/chaos/
(named ``environment-chaos-…``), experiments and runs by their own id, the global page at /environments/chaos/."""

from django.urls import path

from . import views

urlpatterns = [
    path("chaos/", views.chaos_index, name="chaos-index"),
    path("chaos/export/", views.chaos_runs_export, name="chaos-runs-export"),
    path("chaos/kill-switch/engage/", views.chaos_kill_switch_engage, name="chaos-kill-switch-engage"),
    path("chaos/kill-switch/release/", views.chaos_kill_switch_release, name="chaos-kill-switch-release"),
    path("chaos/experiments/<int:experiment_id>/", views.chaos_experiment_edit, name="chaos-experiment-edit"),
    path("chaos/experiments/<int:experiment_id>/pause/", views.chaos_experiment_pause, name="chaos-experiment-pause"),
    path("chaos/experiments/<int:experiment_id>/delete/", views.chaos_experiment_delete,
         name="chaos-experiment-delete"),
    path("chaos/experiments/<int:experiment_id>/run/", views.chaos_experiment_run, name="chaos-experiment-run"),
    path("chaos/runs/<int:run_id>/", views.chaos_run_detail, name="chaos-run-detail"),
    path("chaos/runs/<int:run_id>/stop/", views.chaos_run_stop, name="chaos-run-stop"),
    path("<int:environment_id>/chaos/", views.environment_chaos, name="environment-chaos"),
    path("<int:environment_id>/chaos/settings/", views.environment_chaos_settings, name="environment-chaos-settings"),
    path("<int:environment_id>/chaos/kill-switch/", views.environment_chaos_kill_switch,
         name="environment-chaos-kill-switch"),
    path("<int:environment_id>/chaos/experiments/new/", views.chaos_experiment_new,
         name="environment-chaos-experiment-new"),
    path("<int:environment_id>/chaos/document/", views.environment_chaos_document, name="environment-chaos-document"),
    path("<int:environment_id>/chaos/export/", views.environment_chaos_runs_export,
         name="environment-chaos-runs-export"),
]
