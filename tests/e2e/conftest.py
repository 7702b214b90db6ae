"""Browser-test harness: a live ASGI server on the test database and a Playwright page per test.

* ``live_asgi_server`` (package scope): daphne in a forked child process, see ``support.py``.
  Tests that put data in front of it must commit it: ``page`` pulls in ``transactional_db``.
  Settings changed in the test process do not reach it; its rollout deadline is
  ``support.SERVER_ROLLOUT_TIMEOUT_SECONDS``.
* ``browser`` (package scope): Debian's Chromium, headless, driven by Playwright's sync API.
* ``page``: a fresh browser context per test, ``base_url`` set to the live server. Every page it
  loads is checked by axe-core (``accessibility.py``): a serious or critical violation fails the
  test at teardown. When the test fails, its screenshot, HTML, browser console and the axe findings
  go to ``test-artifacts/e2e/<test-name>.*``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import Browser, Page, sync_playwright

from tests.fixtures.stack import in_ci, stack_up

from .accessibility import AxeFindings, check_final_state, install_axe, violations_json
from .support import ARTIFACTS, SERVER_ROLLOUT_TIMEOUT_SECONDS, LiveAsgiServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 860}

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[pytest.TestReport]:
    """Keep each phase's report on the item, so fixture teardown can tell whether the test failed."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


def _unavailable(message: str) -> None:
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="package")
def chromium() -> Path:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing: the browser tests need Debian's Chromium (apt-get install chromium)")
    return CHROMIUM


def _terraform_overrides(root: Path) -> tuple[dict, dict[str, str]]:
    """The server's Terraform settings: S3 state on the moto server, its own dirs, bucket and ports.

    Plans wait for approval here (no auto-approve), so a journey can approve one in the browser.
    """
    moto, terraform = stack_up("moto"), stack_up("terraform")
    settings = {"AWS_ENDPOINT_URL": moto["AWS_ENDPOINT_URL"], "SLIPWAY_TERRAFORM_BIN": terraform["TERRAFORM"],
                "SLIPWAY_TERRAFORM_DIR": root / "tf", "SLIPWAY_LOCAL_CLUSTERS_DIR": root / "local",
                "SLIPWAY_TERRAFORM_STATE_BUCKET": f"t-e2e-tfstate-{uuid.uuid4().hex[:10]}",
                "SLIPWAY_LOCAL_CLUSTER_PORTS": "56700-56799", "SLIPWAY_TERRAFORM_AUTO_APPROVE": []}
    environ = {k: moto[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    return settings, environ


@pytest.fixture(scope="package")
def live_asgi_server(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[LiveAsgiServer]:
    """daphne serving the whole app (HTTP + websockets) against the test database."""
    with django_db_blocker.unblock():
        if connection.vendor == "sqlite" and connection.is_in_memory_db():
            _unavailable("the live server needs a database another process can open (PostgreSQL), "
                         "not in-memory SQLite")
        terraform_settings, environ = _terraform_overrides(tmp_path_factory.mktemp("e2e-terraform"))
        server = LiveAsgiServer(log_path=ARTIFACTS / "server.log", environ=environ,
                                settings_overrides={"SLIPWAY_ROLLOUT_TIMEOUT_SECONDS": SERVER_ROLLOUT_TIMEOUT_SECONDS,
                                                    # the server's own: a journey writes what make run would
                                                    "SLIPWAY_LOCAL_CLUSTER_STATUS_FILE": tmp_path_factory.mktemp(
                                                        "e2e-var") / "local-cluster.json",
                                                    # the project's URLs plus one failing view: the 500 page
                                                    "ROOT_URLCONF": "tests.failing_urls",
                                                    **terraform_settings})
        # Forked inside unblock(): the child inherits database access being allowed.
        server.start()
    yield server
    server.stop()


@pytest.fixture(scope="package")
def browser(chromium: Path, live_asgi_server: LiveAsgiServer) -> Iterator[Browser]:
    # Depends on the server so that the server is forked before Playwright's driver starts.
    with pytest.MonkeyPatch.context() as mp:
        # Playwright's sync API leaves its event loop marked as running in this thread, which
        # Django's ORM would take for an async context (test bodies and pytest-django's flush).
        # Set after the server fork, so only this process relaxes the check.
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS)
            yield launched
            launched.close()


def _artifact_name(item: pytest.Item) -> str:
    return re.sub(r"[^\w.-]+", "_", item.name).strip("_")


def _save_failure_artifacts(page: Page, name: str, console: list[str], findings: AxeFindings) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}.axe.json").write_text(violations_json(findings), encoding="utf-8")
    try:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        (ARTIFACTS / f"{name}.html").write_text(page.content(), encoding="utf-8")
    except Exception as exc:  # a crashed page must not hide the test's own failure
        console.append(f"[harness] could not capture the page: {exc}")
    (ARTIFACTS / f"{name}.console.txt").write_text(f"url: {page.url}\n" + "\n".join(console) + "\n", encoding="utf-8")


@pytest.fixture
def page(request: pytest.FixtureRequest, transactional_db, live_asgi_server: LiveAsgiServer,
         browser: Browser) -> Iterator[Page]:
    """A page in a fresh context whose relative URLs go to the live server."""
    context = browser.new_context(base_url=live_asgi_server.url, viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(10_000)
    findings = install_axe(context)
    new_page = context.new_page()
    console: list[str] = []
    new_page.on("console", lambda msg: console.append(f"console.{msg.type}: {msg.text}"))
    new_page.on("pageerror", lambda exc: console.append(f"pageerror: {exc}"))
    try:
        yield new_page
        reports = request.node.stash.get(_REPORTS, {})
        if not any(report.failed for report in reports.values()):
            check_final_state(new_page)
            if findings.failures:
                _save_failure_artifacts(new_page, _artifact_name(request.node), console, findings)
                pytest.fail(findings.report(), pytrace=False)
    finally:
        reports = request.node.stash.get(_REPORTS, {})
        if any(report.failed for report in reports.values()):
            _save_failure_artifacts(new_page, _artifact_name(request.node), console, findings)
        # Closed before transactional_db flushes the tables: no websocket keeps polling them.
        context.close()


@pytest.fixture
def screenshot(page: Page):
    """``screenshot("dashboard")`` saves the current page to test-artifacts/e2e/ for a human reviewer."""

    def take(name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
