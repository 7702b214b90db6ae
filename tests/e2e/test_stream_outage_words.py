"""Browser check (issue 18): a live stream closed with 4503 (the server cannot reach its database,
portal/outages.DatabaseOutageWebsocket) says so on the page, not just "connection lost".

The close code is the page script's input: the browser's websocket is routed to a stand-in that closes
with 4503 at once (tests/reliability/test_postgres_restart.py shows the real server closing with it).
"""

from __future__ import annotations

import re

import pytest
from django.template.loader import render_to_string
from playwright.sync_api import Page, WebSocketRoute, expect

from portal.accounts import roles
from portal.jobs.models import Job
from portal.outages import MESSAGE
from tests.environments.logs.support import make_environment
from tests.factories import JobFactory, TeamFactory, UserFactory

from .support import log_in

pytestmark = pytest.mark.e2e
WORDS = re.compile(r"^Slipway cannot reach its database; reconnecting in \d+s…$")


def closed_with_4503(ws: WebSocketRoute) -> None:
    ws.close(code=4503, reason="database unavailable")


def test_job_and_log_streams_say_the_database_is_unreachable_on_4503(page: Page, screenshot, kubeconfig_path):
    team = TeamFactory(slug="payments", name="Payments")
    admin = UserFactory(username="ada", roles=[roles.PLATFORM_ADMINS], teams=[team])
    job = JobFactory(state=Job.QUEUED, started_by=admin, team=team)
    environment = make_environment(kubeconfig_path, "slw-unq-outage-words", team=team, owner=admin)
    page.route_web_socket(re.compile(r"/ws/"), closed_with_4503)
    log_in(page, "ada")

    page.goto(f"/jobs/{job.pk}/")
    expect(page.locator("[data-job-notice]")).to_have_text(WORDS)
    screenshot("outage-1-job-stream-4503")

    page.goto(f"/environments/{environment.pk}/logs/")
    expect(page.locator("[data-log-notice]")).to_have_text(WORDS)
    expect(page.locator("[data-log-lines] .log-marker").first).to_contain_text("Slipway cannot reach its database")
    screenshot("outage-2-log-stream-4503")


def test_the_database_outage_page_reads_as_a_person_expects(page: Page, screenshot):
    """The 503 page portal/outages.py answers while PostgreSQL is down (tests/reliability/test_postgres_restart.py
    checks the real server sends it); rendered here as that server renders it, without a request."""
    page.goto("/healthz")  # the live server's origin, so the page's stylesheet loads as it does there
    page.set_content(render_to_string("503_unavailable.html", {"message": MESSAGE}))
    expect(page.get_by_role("heading", name="Slipway is briefly unavailable", level=1)).to_be_visible()
    expect(page.get_by_text(MESSAGE)).to_be_visible()
    expect(page.get_by_role("link", name="Try again")).to_be_visible()
    screenshot("outage-3-database-unavailable-page")
