"""The orphan API routes (``/api/v1/orphans/…``), included by environments/api_urls.py."""

from rest_framework.routers import SimpleRouter

from .api import OrphanViewSet

router = SimpleRouter()
router.register("orphans", OrphanViewSet, basename="orphan")

urlpatterns = router.urls
