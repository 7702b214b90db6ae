"""Browser journey (issue 5): a Platform admin creates a local cluster with Terraform, approves the plan,
watches the apply stream to success, then destroys the cluster with its name typed.

Everything is real: the live server's eager Celery runs the terraform CLI inside the POST (after
commit) with the `local` blueprint, the state goes to an S3 bucket on the moto server, and the
apply starts a kwok control plane on its own port. The plan waits for approval on this server.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from clusters.models import Cluster, TerraformRun
from devstack.process import port_open
from portal.accounts import roles
from tests.factories import UserFactory

from .support import confirm_in_dialog, expect_job_succeeded, log_in

pytestmark = pytest.mark.e2e
TERRAFORM = 180_000  # ms: a POST runs init + plan or apply (+ health) before it answers


@pytest.fixture
def admin(transactional_db):
    return UserFactory(username="ada", roles=[roles.PLATFORM_ADMINS])


@pytest.fixture
def cluster_name(live_asgi_server) -> Iterator[str]:
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    yield name
    # A failed journey must not leave a control plane running (the destroy step normally stops it).
    cluster = Cluster.objects.filter(name=name).first()
    if cluster and cluster.terraform_vars.get("api_port"):
        root = live_asgi_server.settings_overrides["SLIPWAY_LOCAL_CLUSTERS_DIR"] / name
        subprocess.run([sys.executable, "-m", "devstack.control_plane", "down", "--name", name, "--port",
                        str(cluster.terraform_vars["api_port"]), "--dir", str(root)], capture_output=True, timeout=120)


def approve_and_watch(page: Page, summary: str) -> None:
    expect(page.locator("[data-run-state-badge]")).to_have_text("awaiting approval")
    # The job behind the plan succeeded, but the run waits: the panel says so, not "succeeded".
    expect(page.locator("[data-job-stream] [data-job-state]")).to_have_text("awaiting approval")
    expect(page.locator("[data-plan-summary]")).to_have_text(summary)
    expect(page.get_by_role("cell", name="terraform_data.control_plane")).to_be_visible()
    page.get_by_role("button", name="Approve and apply").click(timeout=TERRAFORM)
    confirm_in_dialog(page, re.compile(r"^Approve run #\d+$"), timeout=TERRAFORM)
    expect(page.get_by_role("status")).to_contain_text("Plan approved: applying it now.", timeout=TERRAFORM)
    stream = page.locator("[data-job-stream]")
    expect_job_succeeded(stream, TERRAFORM)
    expect(stream.locator("[data-job-progress]")).to_have_js_property("value", 100)
    expect(page.locator("[data-run-state-badge]")).to_have_text("succeeded")


def test_admin_creates_a_local_cluster_approves_and_watches_the_apply(page: Page, screenshot, admin,
                                                                      cluster_name: str) -> None:
    log_in(page, "ada")
    page.get_by_role("link", name="Clusters").first.click()
    page.get_by_role("link", name="New cluster").click()
    expect(page.get_by_role("heading", name="New cluster", level=1)).to_be_visible()
    page.get_by_label("Name", exact=True).fill(cluster_name)
    expect(page.get_by_label("Kind")).to_have_value("local")
    screenshot("cluster-new")
    page.get_by_role("button", name="Plan cluster").click(timeout=TERRAFORM)

    expect(page).to_have_url(re.compile(r"/clusters/runs/\d+/$"), timeout=TERRAFORM)
    run = TerraformRun.objects.get(cluster__name=cluster_name)
    expect(page.get_by_role("status")).to_contain_text(f"Cluster {cluster_name}: Terraform run #{run.pk} started.")
    stream = page.locator("[data-job-stream]")
    expect(stream.locator("[data-job-log]")).to_contain_text("+ terraform_data.control_plane (create)")
    screenshot("cluster-plan-awaiting-approval")
    approve_and_watch(page, "1 to add, 0 to change, 0 to destroy")
    log = stream.locator("[data-job-log]")
    expect(log).to_contain_text("terraform_data.control_plane: Creating...")
    expect(log).to_contain_text("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.")
    expect(log).to_contain_text("health: ready")
    expect(page.locator("#run-summary")).to_contain_text("api_endpoint = https://127.0.0.1:")
    screenshot("cluster-applied")
    cluster = Cluster.objects.get(name=cluster_name)
    assert cluster.status == "ready" and cluster.node_count == 3
    port = cluster.terraform_vars["api_port"]
    assert port_open(port)

    # The cluster page, then destroy with the name typed in the confirmation dialog.
    page.get_by_role("link", name=cluster_name).click()
    expect(page.locator("[data-cluster-status]")).to_have_text("ready")
    expect(page.get_by_text("State not locked.")).to_be_visible()
    page.get_by_role("button", name="Destroy cluster").click()
    dialog = page.get_by_role("dialog", name=f"Destroy cluster {cluster_name}")
    dialog.get_by_label(f"Type {cluster_name} to confirm").fill("not-the-name")
    dialog.get_by_role("button", name="Destroy cluster").click()
    expect(dialog.get_by_role("alert")).to_contain_text(f"That is not the name: type {cluster_name} exactly")
    expect(page).to_have_url(re.compile(r"/clusters/\d+/$"))
    confirm_in_dialog(page, f"Destroy cluster {cluster_name}", typed_name=cluster_name, timeout=TERRAFORM)
    expect(page).to_have_url(re.compile(r"/clusters/runs/\d+/$"), timeout=TERRAFORM)
    approve_and_watch(page, "0 to add, 0 to change, 1 to destroy")
    expect(stream.locator("[data-job-log]")).to_contain_text("cluster destroyed")
    cluster.refresh_from_db()
    assert cluster.status == "destroyed" and not port_open(port)
