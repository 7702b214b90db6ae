"""The managers' dashboard page (/reports/) and its CSV exports. The filter form swaps the figures in place
(HTMX, the URL follows); without script it is a plain GET form."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from portal.accounts import authz
from portal.query_params import InvalidParameter

from . import selectors
from .filters import ReportFilterForm
from .report_charts import cost_chart, weekly_chart
from .selectors import ReportScope
from .tables import REPORT_TABLES


def dashboard_context(user, scope: ReportScope) -> dict:
    """Everything the page shows, for ``user`` at ``scope`` (a bounded number of queries: see selectors)."""
    weeks = selectors.created_destroyed_per_week(user, scope)
    costs = selectors.cost_by_team_and_month(user, scope)
    idle = selectors.idle_environments(user, scope)
    by_team = selectors.environments_by(user, scope, by="team")
    return {
        "scope": scope, "weeks": weeks, "costs": costs, "by_team": by_team,
        "by_owner": selectors.environments_by(user, scope, by="owner")[:selectors.TOP],
        "by_stage": selectors.environments_by(user, scope, by="stage"),
        "by_age": selectors.environments_by_age(user, scope),
        "top_creators": selectors.top_creators(user, scope),
        "longest_lived": list(selectors.longest_lived(user, scope)[:selectors.TOP]),
        "idle": list(idle[:selectors.TOP]), "idle_count": idle.count(),
        "idle_url": selectors.environment_list_url(selectors.idle_list_query(scope)),
        "live_count": sum(row.count for row in by_team),
        "live_url": selectors.environment_list_url(scope.list_filters()),
        "created_count": sum(w.created for w in weeks), "destroyed_count": sum(w.destroyed for w in weeks),
        "created_url": selectors.environment_list_url(scope.list_filters(
            status="any", created_after=selectors.iso(scope.start), created_before=selectors.iso(scope.now))),
        "destroyed_url": selectors.environment_list_url(scope.list_filters(
            status="destroyed", destroyed_after=selectors.iso(scope.start), destroyed_before=selectors.iso(scope.now))),
        "weekly_chart": weekly_chart(weeks), "cost_chart": cost_chart(costs, costs.total.currency),
        "titles": {name.replace("-", "_"): table.title for name, table in REPORT_TABLES.items()},
    }


@login_required
def reports_dashboard(request: HttpRequest) -> HttpResponse:
    authz.require(authz.reports_can(request.user), authz.NO_ROLE)
    form = ReportFilterForm(request.GET)
    scope = form.scope()
    query = request.GET.copy()
    context = {**dashboard_context(request.user, scope), "form": form, "query": query.urlencode()}
    # The filter form asks with HTMX for the figures only; a direct visit gets the whole page.
    # (HTMX restoring a page from history without its cache asks for the whole page.)
    partial = request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request")
    template = "_body.html" if partial else "dashboard.html"
    response = render(request, f"environments/reports/{template}", context)
    # One URL, two bodies: a browser going back to the URL must not be served the cached fragment.
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
def reports_export(request: HttpRequest) -> HttpResponse:
    """``?table=<name>`` (a REPORT_TABLES key) as CSV, every row, with the dashboard's filters."""
    authz.require(authz.reports_can(request.user), authz.NO_ROLE)
    table = request.GET.get("table", "")
    if table not in REPORT_TABLES:
        raise InvalidParameter("table", f"Give table as one of {', '.join(REPORT_TABLES)}.")
    scope = ReportFilterForm(request.GET).scope()
    report = REPORT_TABLES[table]
    return report.csv.download(report.rows(request.user, scope))
