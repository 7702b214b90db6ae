"""Cost pages, included at /environments/costs/: the figures (and their CSV), the price tables of the
clusters, the team budgets, and the New environment form's forecast fragment."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.cost_index, name="cost-list"),
    path("export/", views.cost_export, name="cost-export"),
    path("prices/", views.price_tables, name="cost-prices"),
    path("prices/<int:cluster_id>/", views.price_table_edit, name="cost-price-table"),
    path("budgets/", views.budgets, name="cost-budgets"),
    path("forecast/", views.forecast_fragment, name="cost-forecast"),
]
