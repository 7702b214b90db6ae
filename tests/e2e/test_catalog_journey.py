"""Browser journey (issue 8): a Platform admin links a component to an ECR repository (moto server) and
refreshes its versions; QA then picks the new tag in the new-environment form and gets it rolled out."""

from __future__ import annotations

import re
import uuid

import pytest
from kubernetes import client as k8s
from playwright.sync_api import Page, expect

from environments.models import Component, Environment, Registry
from portal.accounts import roles
from portal.audit.models import AuditEvent
from tests.factories import TeamFactory, UserFactory
from tests.fixtures.image_registry import ecr_push

from . import test_environment_journey as journey
from .support import log_in

pytestmark = pytest.mark.e2e

local_cluster = journey.local_cluster
namespaces_to_delete = journey.namespaces_to_delete


def test_admin_links_ecr_refreshes_and_qa_picks_the_new_tag(
        page: Page, screenshot, local_cluster, ecr_repository: str, kube_client: k8s.ApiClient,
        namespaces_to_delete: list[str]) -> None:
    team = TeamFactory(slug="payments", name="Payments")
    UserFactory(username="ada", roles=[roles.PLATFORM_ADMINS])
    UserFactory(username="quinn", roles=[roles.QA], teams=[team])
    digest = ecr_push(ecr_repository, "2.2.0")

    # The admin registers the ECR registry and links the api component to the repository.
    log_in(page, "ada")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalog").click()
    page.get_by_role("navigation", name="Catalog").get_by_role("link", name="Registries").click()
    page.get_by_role("link", name="New registry").click()
    page.get_by_label("Name", exact=True).fill("ecr")
    page.get_by_label("Kind", exact=True).select_option("ecr")
    page.get_by_label("Region", exact=True).fill("us-east-1")
    page.get_by_label("AWS access key id").fill("testing")
    page.get_by_label("AWS secret access key").fill("testing")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Registry ecr saved.")
    expect(page.locator("table")).to_contain_text("stored (encrypted)")

    page.get_by_role("navigation", name="Catalog").get_by_role("link", name="Components").click()
    page.get_by_role("link", name="api", exact=True).click()
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Registry", exact=True).select_option(label="ecr")
    page.get_by_label("Repository", exact=True).fill(ecr_repository)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Component api saved.")

    page.get_by_role("button", name="Refresh versions").click()
    expect(page.get_by_role("status")).to_contain_text("Versions refreshed from ecr: 1 added")
    versions = page.locator("section.card", has=page.get_by_role("heading", name=re.compile("^Versions")))
    first = versions.locator("tbody tr").first
    expect(first).to_contain_text("2.2.0")
    expect(first).to_contain_text("registry")
    expect(versions).to_contain_text("removed")  # the hand-entered tags ECR does not have
    screenshot("catalog-component-refreshed")
    assert Component.objects.get(name="api").versions.get(tag="2.2.0").digest == digest
    assert Registry.objects.get(name="ecr").credentials
    assert AuditEvent.objects.filter(action="component.versions_sync", outcome="success").count() == 1
    page.get_by_role("button", name="Log out").click()

    # QA picks the new tag (newest first, with its push time) and creates an environment with it.
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    namespaces_to_delete.append(f"slw-{name}")
    log_in(page, "quinn")
    page.get_by_role("link", name="Environments", exact=True).click()
    page.get_by_role("link", name="New environment").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Blueprint", exact=True).select_option(label="shop v1")
    api = page.locator("#version-picker").get_by_label("api", exact=True)
    expect(api).to_have_value("2.2.0")
    expect(api.locator("option").first).to_contain_text("2.2.0 · pushed ")
    expect(api.locator("optgroup option")).to_have_text(re.compile(r"2\.2\.0 @ sha256:"))
    api.select_option("2.2.0")
    page.get_by_label("Team", exact=True).select_option("payments")
    screenshot("environment-new-ecr-tag")
    page.get_by_role("button", name="Create environment").click()
    expect(page).to_have_url(re.compile(r"/environments/\d+/$"), timeout=journey.ROLLOUT)

    environment = Environment.objects.get(name=name)
    components = page.locator("section.card", has=page.get_by_role("heading", name="Components", exact=True))
    row = components.locator("tbody tr").filter(has=page.get_by_role("cell", name="api", exact=True))
    expect(row.locator("code")).to_have_text("2.2.0")
    api_component = next(c for c in environment.current_revision.snapshot["components"] if c["name"] == "api")
    assert (api_component["tag"], api_component["digest"], api_component["tag_digest"]) == ("2.2.0", "", digest)
