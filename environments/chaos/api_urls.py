"""The chaos API routes (``/api/v1/…``), included by environments/api_urls.py; the experiment and run
collections are registered on environments' router there (so the API root lists them)."""

from django.urls import path

from . import api

urlpatterns = [
    path("environments/<int:pk>/chaos/settings/", api.EnvironmentChaosSettingsView.as_view(),
         name="environment-chaos-settings"),
    path("environments/<int:pk>/chaos/kill-switch/", api.EnvironmentChaosKillSwitchView.as_view(),
         name="environment-chaos-kill-switch"),
    path("environments/<int:pk>/chaos/experiments/", api.EnvironmentChaosExperimentsView.as_view(),
         name="environment-chaos-experiments"),
    path("environments/<int:pk>/chaos/stats/", api.EnvironmentChaosStatsView.as_view(), name="environment-chaos-stats"),
    path("environments/<int:pk>/chaos/badge/", api.EnvironmentChaosBadgeView.as_view(), name="environment-chaos-badge"),
    path("environments/<int:pk>/chaos/comparison/", api.EnvironmentChaosComparisonView.as_view(),
         name="environment-chaos-comparison"),
    path("environments/<int:pk>/chaos/document/", api.EnvironmentChaosDocumentView.as_view(),
         name="environment-chaos-document"),
    path("chaos/kill-switch/", api.GlobalKillSwitchView.as_view(), name="chaos-kill-switch"),
    path("chaos/kill-switch/engage/", api.GlobalKillSwitchEngageView.as_view(), name="chaos-kill-switch-engage"),
    path("chaos/kill-switch/release/", api.GlobalKillSwitchReleaseView.as_view(), name="chaos-kill-switch-release"),
]
