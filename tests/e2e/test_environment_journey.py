"""Browser journey (issue 4): QA creates an environment, watches it roll out, and sees it Ready.

The rollout is real: the live server's eager Celery applies the manifests to the stack's local
Kubernetes control plane inside the POST request (after commit), so the browser lands on the
environment page once the rollout has finished, usually 5–20 s later.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.urls import reverse
from kubernetes import client as k8s
from playwright.sync_api import Page, expect

from clusters.models import Cluster
from clusters.services import cluster_register
from environments.models import Blueprint, Environment, EnvironmentRevision
from portal.accounts import roles
from portal.audit.actor import Actor
from portal.jobs.models import Job
from tests.factories import TeamFactory, UserFactory
from tests.fixtures.kube_cluster import namespaces_delete

from .support import SERVER_ROLLOUT_TIMEOUT_SECONDS, expect_job_succeeded, log_in

pytestmark = pytest.mark.e2e

# ms: the POST returns only after the eager rollout, which the server abandons after its own deadline.
ROLLOUT = (SERVER_ROLLOUT_TIMEOUT_SECONDS + 30) * 1000
PICKED = {"web": "1.4.2", "api": "2.0.1", "worker": "2.0.1"}  # none of them the newest, pre-selected one
NEWEST = {"web": "1.6.0-rc1", "api": "2.1.0", "worker": "2.1.0"}
IMAGES = {"web": "registry.example.com/shop/web", "api": "registry.example.com/shop/api",
          "worker": "registry.example.com/shop/worker"}


@pytest.fixture
def local_cluster(transactional_db, kubeconfig_path: str) -> Cluster:
    call_command("seed_demo_blueprint", verbosity=0)
    return cluster_register(actor=Actor.system("test"), name="local", kind="local",
                            kubeconfig=Path(kubeconfig_path).read_text(), make_default=True)


@pytest.fixture
def qa_user(transactional_db):
    return UserFactory(username="quinn", roles=[roles.QA], teams=[TeamFactory(slug="payments", name="Payments")])


@pytest.fixture
def namespaces_to_delete(kube_client: k8s.ApiClient) -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    namespaces_delete(kube_client, names)


def version_select(page: Page, component: str):
    return page.locator("#version-picker").get_by_label(component, exact=True)


def pick_blueprint_and_versions(page: Page, versions: dict[str, str]) -> None:
    picker = page.locator("#version-picker")
    blueprint = page.get_by_label("Blueprint", exact=True)
    # The demo blueprint is the only one, so it comes preselected with its versions; picking it again
    # still swaps the picker in through HTMX.
    expect(blueprint.locator("option:checked")).to_have_text("shop v1")
    expect(picker.locator("select")).to_have_count(3)
    picker_path = reverse("environment-version-picker")
    blueprint.select_option(label="—")
    expect(picker).to_contain_text("Pick a blueprint to choose component versions.")
    with page.expect_response(lambda response: urlsplit(response.url).path == picker_path) as swapped:
        blueprint.select_option(label="shop v1")
    assert swapped.value.ok, swapped.value.status
    assert parse_qs(urlsplit(swapped.value.url).query) == {"blueprint": [str(Blueprint.objects.get(name="shop").pk)]}
    # HTMX swaps the picker in: one select per component, the newest version pre-selected.
    expect(picker.locator("select")).to_have_count(3)
    for component, newest in NEWEST.items():
        expect(version_select(page, component)).to_have_value(newest)
    for component, tag in versions.items():
        version_select(page, component).select_option(tag)
        expect(version_select(page, component)).to_have_value(tag)


def test_qa_creates_an_environment_and_watches_it_become_ready(
        page: Page, screenshot, local_cluster: Cluster, qa_user, kube_client: k8s.ApiClient,
        namespaces_to_delete: list[str]) -> None:
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    namespace = f"slw-{name}"
    namespaces_to_delete.append(namespace)

    log_in(page, "quinn")
    page.get_by_role("link", name="New environment").click()
    expect(page).to_have_url(re.compile(r"/environments/new/$"))
    expect(page.get_by_role("heading", name="New environment", level=1)).to_be_visible()

    page.get_by_label("Name", exact=True).fill(name)
    expect(page.get_by_label("Cluster", exact=True)).to_have_value("local")  # the default cluster
    expect(page.get_by_label("Stage", exact=True)).to_have_value("qa")
    pick_blueprint_and_versions(page, PICKED)
    page.get_by_label("Team", exact=True).select_option("payments")
    screenshot("environment-new")

    page.get_by_role("button", name="Create environment").click()
    expect(page).to_have_url(re.compile(r"/environments/\d+/$"), timeout=ROLLOUT)
    environment = Environment.objects.get(name=name)
    assert page.url.endswith(f"/environments/{environment.pk}/")
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(f"Environment {name} is being created.")

    # The job stream follows the rollout to its end (it has usually ended before the page loads).
    stream = page.locator("[data-job-stream]")
    expect_job_succeeded(stream, ROLLOUT)
    expect(stream.locator("[data-job-progress]")).to_have_js_property("value", 100)
    expect(stream.locator("[data-job-percent]")).to_have_text("100%")
    log = stream.locator("[data-job-log]")
    expect(log).to_contain_text(f"{name} is ready")
    expect(log).to_contain_text("Deployment/web: created")
    expect(log).not_to_contain_text("FAILED")

    status = page.locator("[data-environment-status]")  # live: no reload even if the page loaded mid-rollout
    expect(status, "status: " + str(Environment.objects.values_list("status", "status_message")
                                     .get(pk=environment.pk))).to_have_text("ready")

    components = page.locator("section.card", has=page.get_by_role("heading", name="Components", exact=True))
    for component, tag in PICKED.items():
        row = components.locator("tbody tr").filter(has=page.get_by_role("cell", name=component, exact=True))
        expect(row).to_have_count(1)
        expect(row).to_contain_text(IMAGES[component])
        expect(row.locator("code")).to_have_text(tag)
    screenshot("environment-ready")

    environment.refresh_from_db()
    assert (environment.status, environment.namespace, environment.owner) == ("ready", namespace, qa_user)
    assert environment.team.slug == "payments" and environment.stage == "qa"
    revision = EnvironmentRevision.objects.get(environment=environment)
    assert {c["name"]: c["tag"] for c in revision.snapshot["components"]} == PICKED
    job = Job.objects.get(kind="rollout", target_id=str(environment.pk))
    assert (job.state, job.progress, job.started_by) == (Job.SUCCEEDED, 100, qa_user)

    # What the cluster runs is what QA picked.
    apps = k8s.AppsV1Api(kube_client)
    deployments = {d.metadata.name: d for d in apps.list_namespaced_deployment(namespace).items}
    assert set(deployments) == set(PICKED)
    for component, tag in PICKED.items():
        assert deployments[component].spec.template.spec.containers[0].image == f"{IMAGES[component]}:{tag}"
        assert deployments[component].status.ready_replicas == deployments[component].spec.replicas


def test_an_invalid_name_is_refused_on_the_form(page: Page, screenshot, local_cluster: Cluster, qa_user) -> None:
    # Two components share the tag 2.0.1: the re-rendered form must keep each pick on its own component.
    versions = {"web": "1.5.0", "api": "2.0.1", "worker": "2.1.0"}

    log_in(page, "quinn")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Environments", exact=True).click()
    page.get_by_role("link", name="New environment").click()
    expect(page).to_have_url(re.compile(r"/environments/new/$"))
    page.get_by_label("Name", exact=True).fill("Bad_Name")
    pick_blueprint_and_versions(page, versions)
    page.get_by_label("Team", exact=True).select_option("payments")
    page.get_by_role("button", name="Create environment").click()

    # The same form comes back with the reason next to the name, and keeps everything else.
    expect(page).to_have_url(re.compile(r"/environments/new/$"))
    expect(page.get_by_role("heading", name="New environment", level=1)).to_be_visible()
    reason = "Use lower-case letters, digits and '-', starting and ending with a letter or digit (at most 63 characters)."
    name_input = page.get_by_label("Name", exact=True)
    expect(page.locator(".field", has=name_input).locator(".error-text")).to_have_text(reason)
    expect(page.locator(".error-text")).to_have_count(1)
    expect(name_input).to_have_value("Bad_Name")
    # Screen readers announce the help text and the reason with the field (aria-describedby).
    expect(name_input).to_have_attribute("aria-invalid", "true")
    expect(name_input).to_have_accessible_description(f"Lower-case letters, digits and '-'. {reason}")
    expect(page.get_by_label("Blueprint", exact=True).locator("option:checked")).to_have_text("shop v1")
    expect(page.get_by_label("Team", exact=True)).to_have_value("payments")
    for component, tag in versions.items():
        expect(version_select(page, component)).to_have_value(tag)
    expect(page.locator(".messages li")).to_have_count(0)  # no "is being created" message
    screenshot("environment-invalid-name")

    assert Environment.objects.count() == 0
    assert EnvironmentRevision.objects.count() == 0
    assert not Job.objects.filter(kind="rollout").exists()
