"""The environments API routes under /api/v1/ (the lifecycle, the catalog, hostnames and log history),
included by portal/api/urls.py."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter
from rest_framework.urlpatterns import format_suffix_patterns

from .api import EnvironmentViewSet
from .catalog.api import BlueprintViewSet, ComponentViewSet, ImageVersionViewSet, RegistryViewSet
from .chaos import api_urls as chaos_api_urls
from .chaos.api import ChaosExperimentViewSet, ChaosRunViewSet
from .cost import api_urls as cost_api_urls
from .hostnames.api import ClusterDnsViewSet, DnsSweepViewSet, EnvironmentHostnamesView
from .logs.api import LogHistoryView
from .orphans import api_urls as orphans_api_urls
from .policies import api_urls as policies_api_urls
from .reports import api_urls as reports_api_urls
from .sleep import api_urls as sleep_api_urls

router = SimpleRouter()
router.register("blueprints", BlueprintViewSet, basename="blueprint")
router.register("chaos/experiments", ChaosExperimentViewSet, basename="chaos-experiment")
router.register("chaos/runs", ChaosRunViewSet, basename="chaos-run")
router.register("dns/clusters", ClusterDnsViewSet, basename="cluster-dns")
router.register("dns/sweeps", DnsSweepViewSet, basename="dns-sweep")
router.register("components", ComponentViewSet, basename="component")
router.register("environments", EnvironmentViewSet, basename="environment")
router.register("image-versions", ImageVersionViewSet, basename="image-version")
router.register("registries", RegistryViewSet, basename="registry")

urlpatterns = [
    path("environments/<int:pk>/hostnames/", EnvironmentHostnamesView.as_view(), name="environment-hostnames"),
    path("environments/<int:pk>/logs/history/", LogHistoryView.as_view(), name="environment-log-history"),
    path("", include(chaos_api_urls)),
    path("", include(orphans_api_urls)),
    path("", include(cost_api_urls)),  # before the router: environments/forecast/ is not an id
    path("", include(sleep_api_urls)),
    path("", include("environments.sleep.schedule_api_urls")),  # issue 17, wake part: sleep schedules
    path("", include(reports_api_urls)),
    path("", include(policies_api_urls)),  # policies (issue 17): requests, stage policies, quotas
    # Format suffixes (``environments.json``) for the router's routes, as the API has always answered them.
    *format_suffix_patterns(router.urls),
]
