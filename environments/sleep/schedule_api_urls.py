"""The sleep schedule API routes (``/api/v1/…``), included by environments/api_urls.py."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import schedule_api as api

router = SimpleRouter()
router.register("sleep-schedules", api.SleepDefaultViewSet, basename="sleep-default")

urlpatterns = [
    path("environments/<int:pk>/sleep-schedule/", api.EnvironmentSleepScheduleView.as_view(),
         name="environment-sleep-schedule"),
    *router.urls,
]
