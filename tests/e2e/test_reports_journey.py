"""Browser journey (issue 17, the managers' dashboard): a manager opens Reports from the navigation, sees the
charts drawn by the vendored Chart.js, filters by team (the figures change in place, no reload), clicks a count
and lands on the environment list showing exactly those environments, and exports a table as CSV.

The figures are checked against the fixture's plan (tests/environments/reports/report_world.py), computed
without the code under test."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from portal.accounts import roles
from tests.environments.reports.report_world import build
from tests.factories import UserFactory

from .support import log_in
from .test_live_status_journey import assert_not_reloaded, mark_no_reload

pytestmark = pytest.mark.e2e


def figure(page: Page, name: str):
    return page.locator(f'[data-figure="{name}"]')


def test_a_manager_filters_the_dashboard_by_team_follows_a_count_and_exports_csv(page: Page, screenshot) -> None:
    world = build(timezone.now(), n=80, noise_events=300)
    UserFactory(username="rep-manager", roles=[roles.MANAGERS])
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    log_in(page, "rep-manager")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports", exact=True).click()
    expect(page.get_by_role("heading", name="Reports", level=1)).to_be_visible()
    expect(figure(page, "live")).to_contain_text(f"{len(world.live())} live environments")
    # Both charts drawn by Chart.js 4.6.1 (the canvas is marked once a chart is made on it).
    expect(page.locator('canvas[data-chart="weekly-chart"][data-drawn="true"]')).to_have_count(1)
    expect(page.locator('canvas[data-chart="cost-chart"][data-drawn="true"]')).to_have_count(1)
    assert page.evaluate("window.Chart.version") == "4.6.1"
    screenshot("reports-dashboard")

    # Filter by team: HTMX swaps the figures in and the URL follows; the document stays.
    mark_no_reload(page)
    page.get_by_label("Team", exact=True).select_option(label="Rep team 2")
    expect(page).to_have_url(re.compile(r"[?&]team=rep-team-2(&|$)"))
    expect(figure(page, "live")).to_contain_text(f"{len(world.live(team='rep-team-2'))} live environments")
    expect(figure(page, "idle")).to_contain_text(f"{len(world.idle(24, team='rep-team-2'))} idle")
    by_team = page.locator('[data-report="by-team"] tbody tr')
    expect(by_team).to_have_count(1)
    expect(page.locator('canvas[data-chart="weekly-chart"][data-drawn="true"]')).to_have_count(1)
    assert_not_reloaded(page)
    screenshot("reports-dashboard-team")

    # A count leads to the environment list showing exactly the environments it counts.
    qa = sorted(e.name for e in world.live(team="rep-team-2", stage="qa"))
    assert qa, "the plan has QA environments in team 2"
    stage_count = page.locator('[data-report="by-stage"] a[data-count="qa"]')
    expect(stage_count).to_have_text(str(len(qa)))
    stage_count.click()
    expect(page.get_by_role("heading", name="Environments", level=1)).to_be_visible()
    rows = page.locator("#environment-rows tbody tr td:first-child a")
    expect(rows).to_have_count(len(qa))
    assert sorted(rows.all_inner_texts()) == qa
    page.go_back()

    # An age bucket: the list reads the creation window the figure counted, and says so.
    week_old = sorted(e.name for e in world.live(team="rep-team-2") if e.name in world.aged("1to7d"))
    page.locator('[data-report="by-age"] a[data-count="1to7d"]').click()
    expect(page.locator("[data-report-filters]")).to_contain_text("From Reports: created")
    expect(rows).to_have_count(len(week_old))
    assert sorted(rows.all_inner_texts()) == week_old
    screenshot("reports-environment-list")
    page.go_back()

    # CSV of a table, with the same filters: header and rows.
    expect(figure(page, "live")).to_contain_text(f"{len(world.live(team='rep-team-2'))} live environments")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export live environments by owner as CSV").click()
    download = download_info.value
    assert re.fullmatch(r"report-by-owner-\d{8}-\d{6}\.csv", download.suggested_filename)
    exported = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert exported[0] == ["key", "label", "count"]
    expected = world.by("owner", team="rep-team-2")
    assert {(r[0] or None): int(r[2]) for r in exported[1:]} == expected
    assert not problems, problems
