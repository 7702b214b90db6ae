"""At scale: 1,000 environments and 100,000 audit events. Every dashboard page, CSV and API endpoint runs a
bounded number of SQL queries (the same as over a handful of rows: nothing per row), and the figures equal
the plan's, computed independently (report_world)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from environments.reports.tables import REPORT_TABLES
from portal.accounts import roles
from portal.audit.models import AuditEvent
from tests.factories import UserFactory

from .report_world import build

pytestmark = pytest.mark.django_db

FILTERS = {"weeks": "26", "idle_hours": "36"}
# The 26-week period touches 7 months: the cost per month is one query per month (bounded by the period).
PAGE_QUERIES, CSV_QUERIES, API_QUERIES = 40, 20, 20


def queries(run) -> int:
    with CaptureQueriesContext(connection) as captured:
        run()
    return len(captured.captured_queries)


def every_endpoint(client: Client) -> dict[str, callable]:
    calls = {"page": lambda: client.get(reverse("reports"), FILTERS),
             "api:summary": lambda: client.get("/api/v1/reports/summary/", FILTERS)}
    for table in REPORT_TABLES:
        calls[f"csv:{table}"] = lambda t=table: b"".join(
            client.get(reverse("reports-export"), {"table": t, **FILTERS}).streaming_content)
        calls[f"api:{table}"] = lambda t=table: client.get(f"/api/v1/reports/{t}/", FILTERS)
    return calls


def bound(name: str) -> int:
    return PAGE_QUERIES if name == "page" else CSV_QUERIES if name.startswith("csv") else API_QUERIES


def test_queries_are_bounded_and_do_not_grow_with_rows_and_the_figures_are_right(db):
    manager = UserFactory(username="rep-manager", roles=[roles.MANAGERS])
    client = Client()
    client.force_login(manager)
    small = build(timezone.now(), n=12, noise_events=10, prefix="few")
    few = {name: queries(call) for name, call in every_endpoint(client).items()}

    # Rows multiply ~80x (environments) and 10,000x (audit events); the queries stay the same.
    world = build(timezone.now(), n=1000, noise_events=100_000)
    assert AuditEvent.objects.count() >= 100_000
    for name, call in every_endpoint(client).items():
        count = queries(call)
        assert count <= bound(name), f"{name}: {count} queries"
        assert count == few[name], f"{name}: {few[name]} queries over a few rows, {count} over many"

    # The figures equal the plan's (the small world's rows are in the same teams: count them too).
    both = world.environments + small.environments
    world.environments = both
    summary = client.get("/api/v1/reports/summary/", FILTERS).json()
    assert summary["live"] == len(world.live())
    assert summary["created"] == sum(c for _, c, _ in world.per_week(26))
    assert summary["destroyed"] == sum(d for _, _, d in world.per_week(26)) > 0
    assert summary["idle"] == len(world.idle(36))
    by_team = client.get("/api/v1/reports/by-team/", FILTERS).json()
    assert {r["key"]: r["count"] for r in by_team} == world.by("team")
    weekly = client.get("/api/v1/reports/weekly/", FILTERS).json()
    assert [(r["created"], r["destroyed"]) for r in weekly] == [(c, d) for _, c, d in world.per_week(26)]
    creators = client.get("/api/v1/reports/top-creators/", FILTERS).json()
    assert {r["key"] or None: r["count"] for r in creators} == dict(world.creators(26))
    page = client.get(reverse("reports"), {**FILTERS, "team": "rep-team-4"}).content.decode()
    assert f'<span class="reports-figure">{len(world.live(team="rep-team-4"))}</span> live' in page
    assert f'<span class="reports-figure">{len(world.idle(36, team="rep-team-4"))}</span> idle' in page
