"""Browser check (issue 18): a live stream closed with 4503 (the server cannot reach its database,
portal/outages.DatabaseOutageWebsocket) says so on the page, not just "connection lost".

The close code is the page script's input: the browser's websocket is routed to a stand-in that closes
with 4503 at once (tests/reliability/test_postgres_restart.py shows the real server closing with it).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from portal.accounts import roles
from portal.jobs.models import Job
from tests.environments.logs.support import make_environment
from tests.factories import JobFactory, TeamFactory, UserFactory

from .support import log_in

pytestmark = pytest.mark.e2e
WORDS = re.compile(r"^Slipway cannot reach its database; reconnecting in \d+s…$")


def closed_with_4503(ws: WebSocketRoute) -> None:
    ws.close(code=4503, reason="database unavailable")


def test_job_and_log_streams_say_the_database_is_unreachable_on_4503(page: Page, kubeconfig_path):
    team = TeamFactory(slug="payments", name="Payments")
    admin = UserFactory(username="ada", roles=[roles.PLATFORM_ADMINS], teams=[team])
    job = JobFactory(state=Job.QUEUED, started_by=admin, team=team)
    environment = make_environment(kubeconfig_path, "slw-unq-outage-words", team=team, owner=admin)
    page.route_web_socket(re.compile(r"/ws/"), closed_with_4503)
    log_in(page, "ada")

    page.goto(f"/jobs/{job.pk}/")
    expect(page.locator("[data-job-notice]")).to_have_text(WORDS)

    page.goto(f"/environments/{environment.pk}/logs/")
    expect(page.locator("[data-log-notice]")).to_have_text(WORDS)
    expect(page.locator("[data-log-lines] .log-marker").first).to_contain_text("Slipway cannot reach its database")
