"""The sleep API routes (``/api/v1/…``), included by environments/api_urls.py."""

from django.urls import path

from . import api

urlpatterns = [
    path("environments/<int:pk>/sleep/", api.EnvironmentSleepView.as_view(), name="environment-sleep"),
    path("environments/<int:pk>/wake/", api.EnvironmentWakeView.as_view(), name="environment-wake"),
    path("environments/<int:pk>/sleep-state/", api.EnvironmentSleepStateView.as_view(),
         name="environment-sleep-state"),
]
