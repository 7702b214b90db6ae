"""The dashboard page, its CSV exports and the API: what they show, who sees it, and bad input."""

from __future__ import annotations

import csv
import html
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from environments.reports.tables import REPORT_TABLES
from portal.accounts import roles
from tests.factories import UserFactory

from .report_world import build

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return build(timezone.now(), n=90, noise_events=500)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def manager(db):
    return UserFactory(username="rep-manager", roles=[roles.MANAGERS])


def test_the_page_shows_every_section_with_its_csv_link_and_the_charts(world, manager):
    response = client_for(manager).get(reverse("reports"), {"team": "rep-team-2", "weeks": "26"})
    assert response.status_code == 200
    page = response.content.decode()
    for name in REPORT_TABLES:
        assert f'data-report="{name}"' in page and f"?table={name}&amp;team=rep-team-2&amp;weeks=26" in page
    assert 'data-chart="weekly-chart"' in page and 'id="weekly-chart"' in page and 'id="cost-chart"' in page
    assert "chart.js-4.6.1/chart.umd.min.js" in page and 'href="/reports/"' in page  # the nav link
    live = len(world.live(team="rep-team-2"))
    assert f'<span class="reports-figure">{live}</span> live environments' in page


def test_an_htmx_request_gets_the_figures_only(world, manager):
    response = client_for(manager).get(reverse("reports"), {"stage": "qa"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert page.lstrip().startswith("{#") or page.lstrip().startswith('<div id="report-body"')
    assert "<html" not in page and 'id="report-body"' in page


@pytest.mark.parametrize("table", list(REPORT_TABLES))
def test_every_table_exports_as_csv_with_the_filters(world, manager, table):
    response = client_for(manager).get(reverse("reports-export"), {"table": table, "team": "rep-team-0"})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    rows = csv_rows(response)
    assert rows[0] == [c.header for c in REPORT_TABLES[table].csv.columns]
    api = client_for(manager).get(f"/api/v1/reports/{table}/", {"team": "rep-team-0", "page_size": 500}).json()
    api_rows = api["results"] if isinstance(api, dict) else api
    assert len(rows) - 1 == len(api_rows)  # the CSV and the API give the same rows


def test_csv_of_counts_by_team_equals_the_plan(world, manager):
    rows = csv_rows(client_for(manager).get(reverse("reports-export"), {"table": "by-team"}))
    assert {r[0]: int(r[2]) for r in rows[1:]} == world.by("team")


def test_api_summary_and_tables(world, manager, api_for):
    api = api_for(manager)
    summary = api.get("/api/v1/reports/summary/", {"stage": "dev", "idle_hours": 48}).json()
    assert summary["live"] == len(world.live(stage="dev"))
    assert summary["idle"] == len(world.idle(48, stage="dev"))
    assert summary["created"] == sum(c for _, c, _ in world.per_week(13, stage="dev"))
    assert summary["destroyed"] == sum(d for _, _, d in world.per_week(13, stage="dev"))
    by_age = api.get("/api/v1/reports/by-age/").json()
    assert {r["key"]: r["count"] for r in by_age} == world.by_age()
    assert all(r["list_url"].startswith("/environments/?") for r in by_age)
    idle = api.get("/api/v1/reports/idle/", {"page_size": 5}).json()
    assert idle["count"] == len(world.idle(24)) and len(idle["results"]) == 5


@pytest.mark.parametrize(("query", "field"), [
    ({"weeks": "5"}, "weeks"), ({"weeks": "many"}, "weeks"), ({"team": "no-such-team"}, "team"),
    ({"stage": "moon"}, "stage"), ({"idle_hours": "0"}, "idle_hours"), ({"idle_hours": "x"}, "idle_hours")])
def test_bad_filters_are_a_400_with_a_sentence(world, manager, api_for, query, field):
    body = api_for(manager).get("/api/v1/reports/by-team/", query).json()["error"]
    assert body["status"] == 400 and body["fields"][field][0].endswith(".")
    response = client_for(manager).get(reverse("reports"), query)
    assert response.status_code == 400 and html.escape(body["fields"][field][0]) in response.content.decode()
    assert client_for(manager).get(reverse("reports-export"), {"table": "by-team", **query}).status_code == 400


def test_an_unknown_table_and_a_bad_list_time_are_400s(world, manager):
    client = client_for(manager)
    response = client.get(reverse("reports-export"), {"table": "salaries"})
    assert response.status_code == 400 and b"by-team" in response.content
    assert client.get(reverse("environment-list"), {"created_after": "yesterday"}).status_code == 400


def test_a_qa_user_sees_only_their_teams_figures_and_no_nav_link(world):
    qa = UserFactory(username="rep-qa", roles=[roles.QA], teams=[world.teams["rep-team-3"]])
    response = client_for(qa).get(reverse("reports"))
    assert response.status_code == 200 and 'href="/reports/"' not in response.content.decode()
    rows = csv_rows(client_for(qa).get(reverse("reports-export"), {"table": "by-team"}))
    assert [r[0] for r in rows[1:]] == ["rep-team-3"]
    nobody = UserFactory(username="rep-nobody")
    assert client_for(nobody).get(reverse("reports")).status_code == 403


def test_the_environment_api_reads_the_same_list_filters(world, manager, api_for):
    api = api_for(manager)
    idle = api.get("/api/v1/reports/idle/").json()
    cutoff = (world.now - timedelta(hours=24)).isoformat()
    listed = api.get("/api/v1/environments/", {"idle_before": cutoff, "page_size": 500}).json()
    assert listed["count"] == idle["count"] == len(world.idle(24))
    bad = api.get("/api/v1/environments/", {"destroyed_after": "last week"}).json()["error"]
    assert bad["status"] == 400 and "destroyed_after" in bad["fields"]


def test_the_key_figures_link_to_exactly_what_they_count(world, manager):
    client = client_for(manager)
    context = client.get(reverse("reports"), {"stage": "qa"}).context
    for figure, count in (("created", "created_count"), ("destroyed", "destroyed_count"), ("idle", "idle_count"),
                          ("live", "live_count")):
        listed = client.get(context[f"{figure}_url"] + "&page_size=500")
        assert listed.context["page"].paginator.count == context[count] > 0, figure
