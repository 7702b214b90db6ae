"""Browser journey: a Platform admin registers the stack's control plane as an existing cluster."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Page, expect

from clusters.models import Cluster
from portal.accounts import roles
from tests.factories import UserFactory

from .support import log_in

pytestmark = pytest.mark.e2e


def test_admin_registers_a_cluster_sees_a_clear_refusal_then_its_health(page: Page, screenshot,
                                                                        kubeconfig_path: str) -> None:
    UserFactory(username="pat", roles=[roles.PLATFORM_ADMINS])
    text = Path(kubeconfig_path).read_text()
    cluster = yaml.safe_load(text)["clusters"][0]["cluster"]
    log_in(page, "pat")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Clusters").click()
    page.get_by_role("link", name="Register an existing cluster").click()
    expect(page.get_by_role("heading", name="Register an existing cluster", level=1)).to_be_visible()

    page.get_by_label("Name").fill("stack")
    page.get_by_label("API server endpoint").fill(cluster["server"])
    page.get_by_label("CA certificate (base64 PEM)").fill(cluster["certificate-authority-data"])
    page.get_by_label("Bearer token").fill("wrong-token-value")
    page.get_by_role("button", name="Verify and register").click()
    expect(page.get_by_text("rejected the credentials (401 Unauthorized)")).to_be_visible()
    expect(page.get_by_label("Bearer token")).to_have_value("")
    assert "wrong-token-value" not in page.content()
    screenshot("cluster-register-refused")

    page.get_by_label("API server endpoint").fill("")
    page.get_by_label("CA certificate (base64 PEM)").fill("")
    page.get_by_label("Kubeconfig", exact=True).fill(text)
    page.get_by_role("button", name="Verify and register").click()
    expect(page).to_have_url(re.compile(r"/clusters/\d+/$"))
    expect(page.get_by_role("heading", name=re.compile("Cluster stack"))).to_be_visible()
    registered = Cluster.objects.get(name="stack")
    health = page.locator("#cluster-health")
    expect(health.locator("[data-status]")).to_have_text("ready")
    expect(health.locator("#nodes-ready")).to_have_text(f"{registered.nodes_ready} of {registered.node_count}")
    expect(health).to_contain_text(registered.server_version)
    assert "client-key-data" not in page.content()
    screenshot("cluster-registered")
