"""The reports API routes (``/api/v1/reports/…``), included by environments/api_urls.py: ``reports/summary/``
and one route per dashboard table, named ``report-<table>``."""

from django.urls import path

from .api import REPORT_VIEWS, ReportSummaryView

urlpatterns = [
    path("reports/summary/", ReportSummaryView.as_view(), name="report-summary"),
    *(path(f"reports/{table}/", view.as_view(), name=f"report-{table}") for table, view in REPORT_VIEWS.items()),
]
