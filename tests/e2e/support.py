"""Helpers for the browser journeys: a live ASGI server and a way out of Playwright's event loop.

The server is daphne in a forked child process (``daphne.testing.DaphneProcess``, the machinery
behind ``channels.testing.ChannelsLiveServerTestCase``). Forking is what makes it serve the *test*
database with the test settings: the child inherits the configured Django of this process, whose
``DATABASES`` already name the test database, the eager Celery, the in-memory channel layer and
the test password hasher. The in-memory layer does not cross processes, so job output that the
test process writes reaches the browser through the consumer's database polling, the designed
fallback (``SLIPWAY_JOB_STREAM_POLL_SECONDS``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from asgiref.sync import SyncToAsync
from channels.layers import channel_layers
from daphne.testing import DaphneProcess
from django.conf import settings
from django.db import connections
from playwright.sync_api import Locator, expect

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "e2e"
PASSWORD = "pw-for-tests-1"  # tests.factories.UserFactory's password
# The server's rollout deadline (set in the child only): a stuck rollout fails well before a test gives up.
SERVER_ROLLOUT_TIMEOUT_SECONDS = 90


def _application():
    # Built inside the child process, after the fork.
    from channels.routing import get_default_application

    return get_default_application()


class LiveAsgiServer:
    """daphne serving ``ASGI_APPLICATION`` (HTTP and websockets) on a free port of 127.0.0.1."""

    host = "127.0.0.1"

    def __init__(self, *, log_path: Path, startup_timeout: float = 60.0,
                 settings_overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> None:
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        # Applied in the child only: the server is forked once per package, so a test's ``settings``
        # fixture cannot reach it, and the test process keeps its own values.
        self.settings_overrides = dict(settings_overrides or {})
        self.environ = dict(environ or {})  # environment variables of the child only (e.g. AWS keys for moto)
        self.process: DaphneProcess | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        if multiprocessing.get_start_method() != "fork":
            raise RuntimeError("the live ASGI server needs the 'fork' start method to inherit the test database")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.write_text("")
        # The child must not share this process's database sockets: close them before forking.
        connections.close_all()
        # Port 0: the OS picks a free port and the child reports it back, so there is no race.
        self.process = DaphneProcess(self.host, _application, setup=self._child_setup)
        self.process.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self.process.ready.wait(timeout=0.2):
            if not self.process.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"daphne did not start listening{self._diagnostics()}")
        self.port = self.process.port.value
        self._wait_until_healthy(deadline)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=10)
        self.process = None

    def _wait_until_healthy(self, deadline: float) -> None:
        last_error = ""
        while time.monotonic() < deadline:
            if not self.process.is_alive():
                break
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
                    last_error = f"HTTP {response.status}"
            except (urllib.error.URLError, OSError) as exc:
                last_error = str(exc)
            time.sleep(0.1)  # polling a readiness probe, not asserting on timing
        self.stop()
        raise RuntimeError(f"{self.url}/healthz never answered 200 ({last_error}){self._diagnostics()}")

    def _diagnostics(self) -> str:
        details = []
        if self.process is not None and not self.process.errors.empty():
            details.append(self.process.errors.get_nowait()[1])
        if self.log_path.exists():
            details.append(self.log_path.read_text()[-4000:])
        return ("\n" + "\n".join(details)) if details else ""

    def _child_setup(self) -> None:
        """Runs in the forked child just before daphne serves."""
        # Database connections were closed before the fork; drop any handle that slipped through
        # without closing it (closing would end the parent's session on the shared socket).
        for conn in connections.all(initialized_only=True):
            conn.connection = None
        # Thread pools and loop-bound objects that earlier tests created in the parent are inherited
        # without their threads: a Channels consumer's database_sync_to_async would queue work on
        # asgiref's single-thread executor forever (the handshake then times out). Start afresh.
        SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
        SyncToAsync.context_to_thread_executor.clear()
        channel_layers.backends = {}
        if self.host not in settings.ALLOWED_HOSTS:
            settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, self.host]
        for name, value in self.settings_overrides.items():
            setattr(settings, name, value)
        os.environ.update(self.environ)
        # Keep the server's output out of pytest's capture: it goes to test-artifacts/e2e/server.log.
        log = open(self.log_path, "a", buffering=1, encoding="utf-8")  # stays open for the life of the child
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        sys.stdout = sys.stderr = log
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(log)


@contextlib.contextmanager
def outside_browser_loop() -> Iterator[None]:
    """Run sync code that must not see an event loop, between two Playwright calls.

    Playwright's sync API leaves its event loop marked as running in this thread between calls.
    ``async_to_sync`` (used by ``JobReporter`` to broadcast) refuses to run then. Hide the marker
    for the block and put it back, since the next Playwright call resumes inside that loop.
    """
    loop = asyncio._get_running_loop()
    asyncio._set_running_loop(None)
    try:
        yield
    finally:
        asyncio._set_running_loop(loop)


def log_in(page, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form and wait for the dashboard."""
    from playwright.sync_api import expect

    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()


def expect_job_succeeded(stream: Locator, timeout: float) -> None:
    """Wait for a job stream to end; a failed job fails the test at once, with its log, not at the timeout."""
    state = stream.locator("[data-job-state]")
    expect(state).to_have_text(re.compile(r"^(succeeded|failed|cancelled)$"), timeout=timeout)
    outcome = state.text_content()
    assert outcome == "succeeded", f"the job {outcome}:\n{stream.locator('[data-job-log]').text_content()[-3000:]}"


def confirm_in_dialog(page, title: str, *, typed_name: str | None = None, timeout: float = 10_000) -> None:
    """Answer the confirmation dialog a dangerous button opened: type the name if asked, then confirm.

    Asserts what a person sees: a modal dialog named ``title``, the typed-name field when a name is
    required, and the dialog gone once confirmed.
    """
    dialog = page.get_by_role("dialog", name=title)
    expect(dialog).to_be_visible()
    if typed_name is not None:
        dialog.get_by_label(re.compile(r"^Type .+ to confirm$")).fill(typed_name)
    dialog.locator("[data-confirm-accept]").click(timeout=timeout)
    expect(dialog).to_be_hidden(timeout=timeout)
