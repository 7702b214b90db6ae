"""The people API routes under /api/v1/ (the caller, users, teams), included by portal/api/urls.py."""

from django.urls import path
from rest_framework.routers import SimpleRouter
from rest_framework.urlpatterns import format_suffix_patterns

from .api import MeView, TeamViewSet, UserViewSet

router = SimpleRouter()
router.register("teams", TeamViewSet, basename="team")
router.register("users", UserViewSet, basename="user")

urlpatterns = [
    path("me/", MeView.as_view(), name="api-me"),
    # Format suffixes (``users.json``) for the router's routes, as the API has always answered them.
    *format_suffix_patterns(router.urls),
]
