"""Browser journey (issue 13): a newcomer's first hour on `make run`, on a clean ``var/``.

`make run`'s own command starts everything (SQLite, Redis, MariaDB, a moto server that keeps its
state, its own local control plane); the admin signs in with the password it printed, creates a QA
user, a manager and a Terraform-made local cluster; QA creates the demo environment, sees it Ready and
its pods' logs; the manager finds it in the audit trail. Then
`make run` is stopped (Ctrl-C) — nothing it started keeps running — and started again: the cluster
made by Terraform is back, its state is there, and it destroys for real; the environment is still
Ready with its workloads. Nothing here touches the test stack's servers or cluster.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from devstack.process import free_port, port_open
from tests.integration.test_make_run import server_ports, start_runportal

from .conftest import VIEWPORT
from .support import ARTIFACTS, expect_job_succeeded, log_in

pytestmark = pytest.mark.e2e
SLOW = 180_000  # ms: Terraform runs and rollouts answer after their job (eager on `make run`'s worker: queued)


class RunPortal:
    """`make run` in a child process, its output collected as it comes."""

    def __init__(self, var: Path, servers: dict[str, int]) -> None:
        self.var, self.servers, self.lines = var, servers, []
        self.port = free_port()
        self.proc = start_runportal(var, self.port, servers, cluster=True)
        threading.Thread(target=self._read, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"`make run` never said {text!r}:\n{self.output[-4000:]}")
            time.sleep(0.2)
        return self.output

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(2)  # SIGINT: Ctrl-C
            self.proc.wait(timeout=180)
        (ARTIFACTS / "make-run.log").write_text(self.output)


@pytest.fixture
def make_run(tmp_path) -> Iterator[Callable[[], RunPortal]]:
    servers, started = server_ports(), []

    def start() -> RunPortal:
        portal = RunPortal(tmp_path, servers)
        started.append(portal)
        portal.wait_for("Slipway is running at", timeout=180)
        return portal

    yield start
    for portal in started:
        portal.stop()
    # Whatever a failed journey left: Terraform-made clusters and `make run`'s own.
    for kubeconfig in tmp_path.glob("**/*.kubeconfig"):
        root = kubeconfig.parent
        for cluster in (root / "clusters").glob("*"):
            port = re.search(r"127\.0\.0\.1:(\d+)", kubeconfig.read_text())
            subprocess.run([sys.executable, "-m", "devstack.control_plane", "down", "--name", cluster.name, "--port",
                            port.group(1) if port else "1", "--dir", str(root)], capture_output=True, timeout=120)


def new_page(browser: Browser, portal: RunPortal) -> Page:
    context = browser.new_context(base_url=portal.url, viewport=VIEWPORT)
    context.set_default_timeout(15_000)
    return context.new_page()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.timeout(900)
def test_first_hour_on_make_run_survives_a_restart(browser: Browser, make_run) -> None:
    portal = make_run()
    password = re.search(r"password: (\S+)", portal.output).group(1)
    cluster_name, environment = f"tf-{uuid.uuid4().hex[:5]}", "demo"

    # The admin creates a QA user (People) while the local control plane comes up.
    admin = new_page(browser, portal)
    log_in(admin, "admin", password)
    admin.goto("/people/users/new/")
    admin.get_by_label("Username").fill("quinn")
    admin.get_by_role("group", name="Roles").get_by_label("QA").check()
    admin.get_by_role("group", name="Teams").get_by_label("Platform").check()
    admin.get_by_role("button", name="Create user").click()
    quinn_password = admin.get_by_test_id("one-time-password").text_content().strip()
    admin.goto("/people/users/new/")
    admin.get_by_label("Username").fill("mona")
    admin.get_by_role("group", name="Roles").get_by_label("Managers").check()
    admin.get_by_role("button", name="Create user").click()
    mona_password = admin.get_by_test_id("one-time-password").text_content().strip()

    # `make run` registers its cluster and exactly the data servers it started.
    output = portal.wait_for('"data_servers"')
    assert '{"cluster": "local", "data_servers": ["mysql", "redis", "s3"]}' in output

    # A cluster made by Terraform (the `local` blueprint applies without approval).
    admin.goto("/clusters/new/")
    admin.get_by_label("Name", exact=True).fill(cluster_name)
    admin.get_by_role("button", name="Plan cluster").click(timeout=SLOW)
    expect(admin).to_have_url(re.compile(r"/clusters/runs/\d+/$"), timeout=SLOW)
    expect_job_succeeded(admin.locator("[data-job-stream]"), SLOW)
    admin.get_by_role("link", name=cluster_name).click()
    expect(admin.locator("[data-cluster-status]")).to_have_text(re.compile("ready", re.I), timeout=SLOW)
    api_port = int(re.search(r"127\.0\.0\.1:(\d+)", admin.locator("body").inner_text()).group(1))
    assert port_open(api_port)

    # QA creates the demo environment on the local cluster and sees it Ready, without reloading.
    qa = new_page(browser, portal)
    log_in(qa, "quinn", quinn_password)
    qa.get_by_role("link", name="New environment").click()
    qa.get_by_label("Name", exact=True).fill(environment)
    qa.get_by_label("Blueprint", exact=True).select_option(label="shop v1")
    expect(qa.locator("#version-picker select")).to_have_count(3)
    qa.get_by_label("Team", exact=True).select_option("platform")
    qa.get_by_role("button", name="Create environment").click()
    expect(qa).to_have_url(re.compile(r"/environments/\d+/$"), timeout=SLOW)
    expect(qa.locator("[data-environment-status]")).to_have_text("ready", timeout=SLOW)
    shot(qa, "make-run-environment-ready")
    # Its logs page shows what the demo pods print, on the first visit.
    qa.get_by_role("link", name="Logs", exact=True).click()
    expect(qa.locator(".log-lines")).to_contain_text("GET /", timeout=60_000)
    shot(qa, "make-run-logs")

    # A manager finds who created it in the audit trail.
    manager = new_page(browser, portal)
    log_in(manager, "mona", mona_password)
    manager.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
    manager.get_by_label("Actor").fill("quinn")
    manager.get_by_role("button", name="Filter").click()
    created = manager.locator("table tbody tr").filter(has_text="environment.create")
    expect(created.first).to_contain_text(environment)
    shot(manager, "make-run-manager-audit")

    # Ctrl-C: everything `make run` started stops, the clusters included.
    portal.stop()
    assert "stopped: web, worker, beat, local clusters and servers." in portal.output
    ports = [portal.port, api_port, *portal.servers.values()]
    deadline = time.monotonic() + 30
    while any(map(port_open, ports)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert [p for p in ports if port_open(p)] == []

    # Started again, it brings back what it held.
    portal = make_run()
    portal.wait_for(f"Local cluster {cluster_name} (Terraform) resumed.")
    admin = new_page(browser, portal)
    log_in(admin, "admin", password)
    admin.goto("/environments/")
    admin.get_by_role("link", name=environment, exact=True).click()
    expect(admin.locator("[data-environment-status]")).to_have_text("ready")
    live = admin.locator("section.card", has=admin.get_by_role("heading", name="Live in the cluster"))
    expect(live).to_contain_text("Deployment/web")
    admin.goto("/clusters/")
    admin.get_by_role("link", name=cluster_name).click()
    expect(admin.locator("[data-cluster-status]")).to_have_text(re.compile("ready", re.I))
    expect(admin.locator("[data-terraform-state]")).not_to_contain_text("no state")
    shot(admin, "make-run-cluster-after-restart")

    # ... and the Terraform-made cluster destroys for real: its state was kept, so the plan has it.
    admin.get_by_role("button", name="Destroy cluster").click()
    dialog = admin.get_by_role("dialog")
    dialog.get_by_label(re.compile("to confirm")).fill(cluster_name)
    dialog.get_by_role("button", name="Destroy cluster").click(timeout=SLOW)
    expect(admin).to_have_url(re.compile(r"/clusters/runs/\d+/$"), timeout=SLOW)
    expect_job_succeeded(admin.locator("[data-job-stream]"), SLOW)
    expect(admin.locator("[data-job-log]")).to_contain_text("Plan: 0 to add, 0 to change, 1 to destroy.")
    expect(admin.locator("[data-job-log]")).to_contain_text("Apply complete! Resources: 0 added, 0 changed, 1 destroyed.")
    deadline = time.monotonic() + 30
    while port_open(api_port) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not port_open(api_port)
