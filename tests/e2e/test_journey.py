"""First browser journeys: sign in, the audit trail, role-based navigation, a streamed job."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from portal.accounts import roles
from portal.audit.actor import Actor
from portal.audit.services import audit_record
from portal.jobs.models import Job
from portal.jobs.reporting import JobReporter
from tests.factories import JobFactory, UserFactory

from .support import outside_browser_loop

pytestmark = pytest.mark.e2e

PASSWORD = "pw-for-tests-1"  # tests.factories.UserFactory's password
LIVE = 15_000  # ms: how long a live update may take (the consumer polls the database)

# Counts the page's websocket messages, so a test can wait until the stream is attached.
WEBSOCKET_PROBE = """
(() => {
  const Native = window.WebSocket;
  window.__ws = { opened: 0, messages: 0 };
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("open", () => { window.__ws.opened += 1; });
      this.addEventListener("message", () => { window.__ws.messages += 1; });
    }
  };
})();
"""


def log_in(page: Page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()


def main_nav(page: Page):
    return page.get_by_role("navigation", name="Main")


def test_manager_filters_and_exports_the_audit_trail(page: Page, screenshot) -> None:
    UserFactory(username="maria", roles=[roles.MANAGERS])
    audit_record(actor=Actor(name="alice"), action="environment.create", object_type="environments.environment",
                 object_id="41", object_repr="payments-qa", team_slug="payments", details={"stage": "qa"})
    audit_record(actor=Actor(name="bob"), action="cluster.update", object_type="clusters.cluster",
                 object_id="7", object_repr="eu-west-1-shared", team_slug="platform")

    log_in(page, "maria")
    expect(page).to_have_title(re.compile(r"^Dashboard"))
    audit_link = main_nav(page).get_by_role("link", name="Audit", exact=True)
    expect(audit_link).to_be_visible()
    expect(page.get_by_role("heading", name="Recent activity")).to_be_visible()
    screenshot("dashboard")

    audit_link.click()
    expect(page).to_have_url(re.compile(r"/audit/$"))
    expect(page.get_by_role("heading", name="Audit trail", level=1)).to_be_visible()
    expect(audit_link).to_have_attribute("aria-current", "page")
    rows = page.locator("table tbody tr")
    alice_row = rows.filter(has_text="payments-qa")
    expect(alice_row).to_contain_text("alice")
    expect(alice_row).to_contain_text("environment.create")
    expect(alice_row).to_contain_text("success")
    expect(rows.filter(has_text="eu-west-1-shared")).to_contain_text("bob")
    screenshot("audit")

    page.get_by_label("Actor", exact=True).fill("alice")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"[?&]actor=alice(&|$)"))
    expect(rows.filter(has_text="eu-west-1-shared")).to_have_count(0)
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("payments-qa")
    expect(page.get_by_label("Actor", exact=True)).to_have_value("alice")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert re.fullmatch(r"audit-\d{8}-\d{6}\.csv", download.suggested_filename)
    exported = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert [(r["actor_name"], r["action"], r["object_repr"], r["team_slug"], r["outcome"]) for r in exported] == [
        ("alice", "environment.create", "payments-qa", "payments", "success"),
    ]


def test_developer_has_no_audit_trail(page: Page) -> None:
    UserFactory(username="dev", roles=[roles.DEVELOPERS])
    audit_record(actor=Actor(name="alice"), action="environment.create", object_repr="payments-qa")

    log_in(page, "dev")
    nav = main_nav(page)
    expect(nav.get_by_role("link", name="Jobs")).to_be_visible()
    expect(nav.get_by_role("link", name="Audit", exact=True)).to_have_count(0)
    expect(page.get_by_role("heading", name="Recent activity")).to_have_count(0)
    expect(page.get_by_role("button", name="Run self-check")).to_have_count(0)

    response = page.goto("/audit/")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_text("payments-qa")).to_have_count(0)
    assert page.request.get("/audit/export.csv").status == 403


def test_platform_admin_runs_the_selfcheck(page: Page) -> None:
    # Celery runs eagerly in the server, so the job has usually finished when its page loads:
    # then the log comes from the stored backlog over REST. The next test covers live streaming.
    UserFactory(username="ada", roles=[roles.PLATFORM_ADMINS])

    log_in(page, "ada")
    run = page.get_by_role("button", name="Run self-check")
    # The HTML view redirects to the job page; the API action of the same URL name answers JSON.
    expect(page.locator("form", has=run)).to_have_attribute("action", "/jobs/selfcheck/")
    run.click()

    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    expect(page.get_by_role("heading", name="Self-check", level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Self-check started.")
    stream = page.locator("[data-job-stream]")
    expect(stream.locator("[data-job-state]")).to_have_text("succeeded")
    expect(stream.locator("[data-job-progress]")).to_have_js_property("value", 100)
    expect(stream.locator("[data-job-percent]")).to_have_text("100%")
    log = stream.locator("[data-job-log]")
    for line in ("checking database…", "ok: ", "checking channel layer…", "checking AWS endpoint…", "— succeeded"):
        expect(log).to_contain_text(line)
    expect(log).not_to_contain_text("FAILED")

    job = Job.objects.get(kind="selfcheck")
    assert job.state == Job.SUCCEEDED
    assert page.url.endswith(f"/jobs/{job.pk}/")

    # The job is listed on the Jobs page, reached from the navigation.
    main_nav(page).get_by_role("link", name="Jobs", exact=True).click()
    expect(page).to_have_url(re.compile(r"/jobs/$"))
    expect(page.get_by_role("heading", name="Jobs", level=1)).to_be_visible()
    expect(page.locator("table tbody tr").filter(has_text="Self-check")).to_contain_text("succeeded")


def test_job_page_follows_a_running_job_live(page: Page) -> None:
    admin = UserFactory(username="ada", roles=[roles.PLATFORM_ADMINS])
    job = JobFactory(started_by=admin, kind="deploy", title="Deploy payments-qa")
    page.add_init_script(WEBSOCKET_PROBE)

    log_in(page, "ada")
    page.goto(f"/jobs/{job.pk}/")
    stream = page.locator("[data-job-stream]")
    state = stream.locator("[data-job-state]")
    percent = stream.locator("[data-job-percent]")
    log = stream.locator("[data-job-log]")
    expect(state).to_have_text("queued")
    # The consumer sends a status message once it has caught up: the stream is attached.
    page.wait_for_function("window.__ws.messages > 0")
    page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page

    reporter = JobReporter(job)
    with outside_browser_loop():
        reporter.start()
    expect(state).to_have_text("running", timeout=LIVE)

    with outside_browser_loop():
        reporter.log("pulling image payments:1.2.3")
        reporter.log("applying manifests")
        reporter.flush()
    expect(log).to_contain_text("pulling image payments:1.2.3", timeout=LIVE)
    expect(log).to_contain_text("applying manifests")

    with outside_browser_loop():
        reporter.progress(60, "manifests applied")
    expect(percent).to_have_text("60%", timeout=LIVE)
    expect(stream.locator("[data-job-progress]")).to_have_js_property("value", 60)
    expect(stream.locator("[data-job-message]")).to_have_text("manifests applied")

    with outside_browser_loop():
        reporter.log("rollout complete")
        reporter.flush()
        reporter.finish(Job.SUCCEEDED)
    expect(state).to_have_text("succeeded", timeout=LIVE)
    expect(log).to_contain_text("rollout complete")
    expect(percent).to_have_text("100%")
    expect(stream.locator("[data-job-notice]")).to_have_text("")

    assert page.evaluate("window.__sameDocument") is True
    assert page.evaluate("window.__ws.opened") == 1
