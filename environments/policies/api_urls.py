"""The policies API routes (``/api/v1/environment-requests/``, ``/api/v1/policies/…``), included by
environments/api_urls.py."""

from rest_framework.routers import SimpleRouter
from rest_framework.urlpatterns import format_suffix_patterns

from .api import EnvironmentRequestViewSet, QuotaPolicyViewSet, StagePolicyViewSet

router = SimpleRouter()
router.register("environment-requests", EnvironmentRequestViewSet, basename="environment-request")
router.register("policies/stages", StagePolicyViewSet, basename="stage-policy")
router.register("policies/quotas", QuotaPolicyViewSet, basename="quota-policy")

urlpatterns = format_suffix_patterns(router.urls)
