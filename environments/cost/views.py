"""Cost pages: the figures grouped and filtered (with CSV), the clusters' price tables, the team budgets,
and the forecast fragment of the New environment form. Writes go through ``services`` (audited)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from clusters.models import Cluster
from portal.accounts import authz
from portal.accounts.models import Team
from portal.audit.actor import Actor
from portal.form_errors import add_service_errors

from ..models import Blueprint
from ..render import RenderError
from .budgets import budget_statuses
from .forecast import forecast_for_new_environment
from .forms import BudgetForm, CostFilterForm, PriceTableForm, node_hours_text
from .prices import prices_for, prices_of_loaded
from .selectors import budgets_visible, cost_samples_filtered, cost_samples_visible, cost_total, cost_totals
from .services import budget_set, price_table_update
from .tables import COST_ROWS

ROWS_PER_PAGE = 25
PRICES_REFUSED = "Only Platform admins change price tables."
BUDGETS_REFUSED = "Only Platform admins set team budgets."


def _require_view(request: HttpRequest) -> None:
    authz.require(authz.cost_can(request.user, authz.VIEW), authz.NO_ROLE)


def _figures(request: HttpRequest) -> tuple[CostFilterForm, list, Any]:
    """The filter form, the grouped rows and the total (rows empty when a filter is malformed)."""
    form = CostFilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        return form, [], None
    filters, by = (form.filters(), form.grouping()) if request.GET else ({}, "team")
    samples = cost_samples_filtered(cost_samples_visible(request.user), filters)
    return form, cost_totals(samples, by=by), cost_total(samples)


@login_required
def cost_index(request: HttpRequest) -> HttpResponse:
    _require_view(request)
    form, rows, total = _figures(request)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "environments/cost/index.html", {
        "form": form, "page": Paginator(rows, ROWS_PER_PAGE).get_page(request.GET.get("page")), "total": total,
        "by": form.cleaned_data.get("by") or "team" if form.is_bound and form.is_valid() else "team",
        "query": query.urlencode(), "month": timezone.localtime().strftime("%Y-%m"),
        "can_edit_prices": authz.price_table_can(request.user, authz.CHANGE)},
        status=400 if form.is_bound and not form.is_valid() else 200)


@login_required
def cost_export(request: HttpRequest) -> StreamingHttpResponse | HttpResponse:
    _require_view(request)
    form, rows, _total = _figures(request)
    if form.is_bound and not form.is_valid():
        return HttpResponse(" ".join(e for errors in form.errors.values() for e in errors), status=400,
                            content_type="text/plain")
    return COST_ROWS.download(rows)


@login_required
def price_tables(request: HttpRequest) -> HttpResponse:
    authz.require(authz.price_table_can(request.user, authz.VIEW), authz.NO_ROLE)
    clusters = [(cluster, prices_of_loaded(cluster))
                for cluster in Cluster.objects.exclude(status=Cluster.DESTROYED).select_related("price_table")]
    return render(request, "environments/cost/prices.html", {
        "clusters": clusters, "can_change": authz.price_table_can(request.user, authz.CHANGE)})


def _price_initial(cluster: Cluster) -> dict[str, Any]:
    prices = prices_for(cluster)
    node_hours = prices.node_hours if prices.from_table else {}
    table = getattr(cluster, "price_table", None) if prices.from_table else None
    return {"currency": prices.currency, "vcpu_hour": prices.vcpu_hour, "gib_hour": prices.gib_hour,
            "storage_gib_month": prices.storage_gib_month,
            "node_hours": node_hours_text(table.node_hours if table else prices.node_hours or node_hours),
            "default_instance_type": prices.default_instance_type, "source": prices.source}


@login_required
def price_table_edit(request: HttpRequest, cluster_id: int) -> HttpResponse:
    authz.require(authz.price_table_can(request.user, authz.VIEW), authz.NO_ROLE)
    cluster = get_object_or_404(Cluster, pk=cluster_id)
    can_change = authz.price_table_can(request.user, authz.CHANGE, cluster)
    form = PriceTableForm(request.POST if request.method == "POST" else None, initial=_price_initial(cluster))
    status = 200
    if request.method == "POST":
        authz.require(can_change, PRICES_REFUSED)
        if form.is_valid():
            try:
                price_table_update(actor=Actor.from_request(request), user=request.user, cluster=cluster,
                                   **form.cleaned_data)
            except (ValidationError, PermissionDenied) as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Prices of {cluster.name} saved.")
                return redirect("cost-price-table", cluster_id=cluster.pk)
        status = 400
    return render(request, "environments/cost/price_table.html", {
        "cluster": cluster, "form": form, "prices": prices_for(cluster), "can_change": can_change}, status=status)


@login_required
def budgets(request: HttpRequest) -> HttpResponse:
    authz.require(authz.budget_can(request.user, authz.VIEW), authz.NO_ROLE)
    can_change = authz.budget_can(request.user, authz.CHANGE)
    form = BudgetForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        authz.require(can_change, BUDGETS_REFUSED)
        if form.is_valid():
            try:
                budget_set(actor=Actor.from_request(request), user=request.user, **form.cleaned_data)
            except (ValidationError, PermissionDenied) as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Budget of {form.cleaned_data['team'].name} saved.")
                return redirect("cost-budgets")
        status = 400
    return render(request, "environments/cost/budgets.html", {
        "statuses": budget_statuses(budgets_visible(request.user)), "form": form,
        "can_change": can_change}, status=status)


def forecast_inputs(params: Any) -> dict[str, Any] | None:
    """cluster (name), blueprint (id), stage, team (slug) and version-<component> from the New environment
    form; None while the cluster, blueprint or stage is missing or unknown."""
    blueprint_id = params.get("blueprint", "")
    cluster = Cluster.objects.filter(name=params.get("cluster", "")).first()
    blueprint = Blueprint.objects.filter(pk=blueprint_id).first() if str(blueprint_id).isdigit() else None
    if cluster is None or blueprint is None or not params.get("stage"):
        return None
    return {"cluster": cluster, "blueprint": blueprint, "stage": params["stage"],
            "team": Team.objects.filter(slug=params.get("team", "")).first(),
            "versions": {k.removeprefix("version-"): v for k, v in params.items() if k.startswith("version-")}}


@login_required
def forecast_fragment(request: HttpRequest) -> HttpResponse:
    """The forecast block of the New environment form (HTMX swaps it in when an input changes)."""
    _require_view(request)
    inputs = forecast_inputs(request.GET)
    forecast, problem = None, ""
    if inputs is not None:
        try:
            forecast = forecast_for_new_environment(**inputs)
        except RenderError as exc:
            problem = f"No forecast: this blueprint does not render ({exc})."
    return render(request, "environments/cost/_forecast.html", {"forecast": forecast, "problem": problem})
