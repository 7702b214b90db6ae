"""SQL queries per list page and API list endpoint do not grow with the number of rows (issue 18).

Each page is requested with N rows of everything and again with 3N (each batch with its own teams,
owners, clusters, blueprints and related rows), as a Platform admin (who sees everything) and as a
developer (whose lists are filtered to their team); the query counts must be equal. A difference is an
N+1: a relation loaded once per row (fix it with select_related/prefetch_related/annotations).
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.portal.query_count_rows import add_rows

pytestmark = pytest.mark.django_db

N = 3

PAGES = [
    "/", "/environments/", "/environments/hostnames/", "/environments/chaos/", "/environments/sleep-schedules/",
    "/environments/policies/", "/environments/requests/", "/costs/", "/costs/budgets/", "/catalog/components/",
    "/catalog/image-versions/", "/catalog/blueprints/", "/catalog/registries/", "/clusters/", "/data-copies/",
    "/orphans/", "/reports/", "/audit/", "/jobs/", "/people/", "/people/teams/", "/costs/prices/",
]
API = [
    "/api/v1/environments/", "/api/v1/audit-events/", "/api/v1/jobs/", "/api/v1/clusters/", "/api/v1/blueprints/",
    "/api/v1/components/", "/api/v1/image-versions/", "/api/v1/registries/", "/api/v1/chaos/experiments/",
    "/api/v1/chaos/runs/", "/api/v1/costs/", "/api/v1/data-copies/", "/api/v1/data-stores/",
    "/api/v1/data-servers/", "/api/v1/orphans/", "/api/v1/terraform-runs/", "/api/v1/environment-requests/",
    "/api/v1/sleep-schedules/", "/api/v1/teams/", "/api/v1/users/", "/api/v1/reports/summary/",
    "/api/v1/reports/by-team/", "/api/v1/reports/by-owner/", "/api/v1/reports/top-creators/",
    "/api/v1/reports/longest-lived/", "/api/v1/reports/idle/", "/api/v1/reports/by-stage/",
    "/api/v1/reports/by-age/", "/api/v1/reports/weekly/", "/api/v1/reports/cost-by-team/",
    "/api/v1/reports/cost-by-month/", "/api/v1/costs/budgets/",
    "/api/v1/orphans/totals/", "/api/v1/dns/clusters/", "/api/v1/dns/sweeps/", "/api/v1/policies/quotas/",
    "/api/v1/policies/stages/", "/api/v1/chaos/kill-switch/",
]


def query_counts(users: dict) -> dict[tuple[str, str], tuple[int, int]]:
    """(role, url) → (HTTP status, queries) for every listed URL."""
    counts = {}
    for role in ("admin", "developer"):
        client = Client()
        client.force_login(users[role])
        for url in PAGES + API:
            # A first request fills the caches (content types, permissions, the audit filters' choices,
            # refreshed when a new event exists), so both counts are of the same warm state.
            client.get(url)
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url, HTTP_ACCEPT="application/json" if url in API else "text/html")
            counts[(role, url)] = (response.status_code, len(captured))
    return counts


def test_no_list_runs_more_queries_for_more_rows(users, team):
    add_rows(N, home_team=team)
    small = query_counts(users)
    add_rows(2 * N, home_team=team)
    large = query_counts(users)
    # Counting a refused or broken page would prove nothing: an admin gets every one of them.
    refused = {url: status for (role, url), (status, _) in large.items() if role == "admin" and status != 200}
    assert not refused, f"pages not answering 200 to a Platform admin: {refused}"
    broken = {key: status for key, (status, _) in large.items() if status >= 500}
    assert not broken, f"pages answering 5xx: {broken}"
    grown = {f"{role} {url}": f"{small[(role, url)][1]} → {large[(role, url)][1]} queries"
             for role, url in small if large[(role, url)][1] != small[(role, url)][1]}
    assert not grown, f"query counts grow with rows (N+1), {N} vs {3 * N} rows of everything: {grown}"
