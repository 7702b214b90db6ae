from django.urls import include, path
from rest_framework.routers import DefaultRouter

from clusters.api import ClusterViewSet, TerraformRunViewSet
from environments.api import EnvironmentViewSet
from environments.hostnames.api import ClusterDnsViewSet, DnsSweepViewSet, EnvironmentHostnamesView
from portal.accounts.api import MeView, TeamViewSet
from portal.audit.api import AuditEventViewSet
from portal.jobs.api import JobViewSet

router = DefaultRouter()
router.register("audit-events", AuditEventViewSet, basename="audit-event")
router.register("clusters", ClusterViewSet, basename="cluster")
router.register("dns/clusters", ClusterDnsViewSet, basename="cluster-dns")
router.register("dns/sweeps", DnsSweepViewSet, basename="dns-sweep")
router.register("environments", EnvironmentViewSet, basename="environment")
router.register("jobs", JobViewSet, basename="job")
router.register("teams", TeamViewSet, basename="team")
router.register("terraform-runs", TerraformRunViewSet, basename="terraform-run")

urlpatterns = [
    path("me/", MeView.as_view(), name="api-me"),
    path("environments/<int:pk>/hostnames/", EnvironmentHostnamesView.as_view(), name="environment-hostnames"),
    path("", include(router.urls)),
]
