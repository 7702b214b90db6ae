"""The managers' dashboard pages, included at /reports/ by portal/urls.py."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.reports_dashboard, name="reports"),
    path("export.csv", views.reports_export, name="reports-export"),
]
