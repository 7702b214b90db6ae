"""The clusters API routes under /api/v1/, included by portal/api/urls.py."""

from rest_framework.routers import SimpleRouter
from rest_framework.urlpatterns import format_suffix_patterns

from .api import ClusterViewSet, TerraformRunViewSet

router = SimpleRouter()
router.register("clusters", ClusterViewSet, basename="cluster")
router.register("terraform-runs", TerraformRunViewSet, basename="terraform-run")

# Format suffixes (``clusters.json``), as the API has always answered them.
urlpatterns = format_suffix_patterns(router.urls)
