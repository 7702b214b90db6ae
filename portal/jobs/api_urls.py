"""The jobs API routes under /api/v1/, included by portal/api/urls.py."""

from rest_framework.routers import SimpleRouter
from rest_framework.urlpatterns import format_suffix_patterns

from .api import JobViewSet

router = SimpleRouter()
router.register("jobs", JobViewSet, basename="job")

# Format suffixes (``jobs.json``), as the API has always answered them.
urlpatterns = format_suffix_patterns(router.urls)
