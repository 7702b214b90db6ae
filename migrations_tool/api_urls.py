"""The data copy API routes under /api/v1/ (copies, data servers, data stores), included by portal/api/urls.py."""

from rest_framework.routers import SimpleRouter
from rest_framework.urlpatterns import format_suffix_patterns

from .api import DataCopyViewSet, DataServerViewSet, DataStoreViewSet

router = SimpleRouter()
router.register("data-copies", DataCopyViewSet, basename="data-copy")
router.register("data-servers", DataServerViewSet, basename="data-server")
router.register("data-stores", DataStoreViewSet, basename="data-store")

# Format suffixes (``data-copies.json``), as the API has always answered them.
urlpatterns = format_suffix_patterns(router.urls)
