from django.urls import include, path
from rest_framework.routers import DefaultRouter

from clusters.api import ClusterViewSet, TerraformRunViewSet
from environments.api import EnvironmentViewSet
from environments.catalog.api import BlueprintViewSet, ComponentViewSet, ImageVersionViewSet, RegistryViewSet
from environments.hostnames.api import ClusterDnsViewSet, DnsSweepViewSet, EnvironmentHostnamesView
from environments.logs.api import LogHistoryView
from migrations_tool.api import DataCopyViewSet, DataServerViewSet, DataStoreViewSet
from portal.accounts.api import MeView, TeamViewSet, UserViewSet
from portal.audit.api import AuditEventViewSet
from portal.jobs.api import JobViewSet

router = DefaultRouter()
router.register("audit-events", AuditEventViewSet, basename="audit-event")
router.register("blueprints", BlueprintViewSet, basename="blueprint")
router.register("clusters", ClusterViewSet, basename="cluster")
router.register("dns/clusters", ClusterDnsViewSet, basename="cluster-dns")
router.register("dns/sweeps", DnsSweepViewSet, basename="dns-sweep")
router.register("components", ComponentViewSet, basename="component")
router.register("data-copies", DataCopyViewSet, basename="data-copy")
router.register("data-servers", DataServerViewSet, basename="data-server")
router.register("data-stores", DataStoreViewSet, basename="data-store")
router.register("environments", EnvironmentViewSet, basename="environment")
router.register("image-versions", ImageVersionViewSet, basename="image-version")
router.register("jobs", JobViewSet, basename="job")
router.register("registries", RegistryViewSet, basename="registry")
router.register("teams", TeamViewSet, basename="team")
router.register("terraform-runs", TerraformRunViewSet, basename="terraform-run")
router.register("users", UserViewSet, basename="user")

urlpatterns = [
    path("me/", MeView.as_view(), name="api-me"),
    path("environments/<int:pk>/hostnames/", EnvironmentHostnamesView.as_view(), name="environment-hostnames"),
    path("environments/<int:pk>/logs/history/", LogHistoryView.as_view(), name="environment-log-history"),
    path("", include(router.urls)),
]
