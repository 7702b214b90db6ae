"""The sleep pages' routes (``/environments/<id>/sleep/`` and ``/wake/``), included by environments/urls.py."""

from django.urls import path

from . import views

urlpatterns = [
    path("<int:environment_id>/sleep/", views.environment_sleep_now, name="environment-sleep"),
    path("<int:environment_id>/wake/", views.environment_wake_now, name="environment-wake"),
]
