from django.urls import include, path
from rest_framework.routers import DefaultRouter

from clusters.api import ClusterViewSet
from environments.api import EnvironmentViewSet
from environments.logs.api import LogHistoryView
from portal.accounts.api import MeView, TeamViewSet
from portal.audit.api import AuditEventViewSet
from portal.jobs.api import JobViewSet

router = DefaultRouter()
router.register("audit-events", AuditEventViewSet, basename="audit-event")
router.register("clusters", ClusterViewSet, basename="cluster")
router.register("environments", EnvironmentViewSet, basename="environment")
router.register("jobs", JobViewSet, basename="job")
router.register("teams", TeamViewSet, basename="team")

urlpatterns = [
    path("me/", MeView.as_view(), name="api-me"),
    path("environments/<int:pk>/logs/history/", LogHistoryView.as_view(), name="environment-log-history"),
    path("", include(router.urls)),
]
