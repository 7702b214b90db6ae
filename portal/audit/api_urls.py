"""The audit API routes under /api/v1/, included by portal/api/urls.py."""

from rest_framework.routers import SimpleRouter
from rest_framework.urlpatterns import format_suffix_patterns

from .api import AuditEventViewSet

router = SimpleRouter()
router.register("audit-events", AuditEventViewSet, basename="audit-event")

# Format suffixes (``audit-events.json``), as the API has always answered them.
urlpatterns = format_suffix_patterns(router.urls)
