"""The cost API routes (``/api/v1/…``), included by environments/api_urls.py BEFORE the router, so that
``environments/forecast/`` is not read as an environment's id."""

from django.urls import path

from . import api

urlpatterns = [
    path("costs/", api.CostTotalsView.as_view(), name="cost-totals"),
    path("costs/budgets/", api.BudgetsView.as_view(), name="cost-budgets"),
    path("clusters/<int:pk>/prices/", api.ClusterPricesView.as_view(), name="cluster-prices"),
    path("environments/forecast/", api.ForecastView.as_view(), name="environment-forecast"),
    path("environments/<int:pk>/cost/", api.EnvironmentCostView.as_view(), name="environment-cost"),
]
