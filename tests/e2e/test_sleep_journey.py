"""Browser journey (issue 17, sleep): a developer puts a ready environment to sleep with "Sleep now", sees
it asleep on its page and in the list (its own badge), and wakes it with "Wake now". The environment runs
on the stack's local control plane; the live server runs Celery eagerly inside its requests, so each job
has ended when the page comes back."""

from __future__ import annotations

import uuid

import pytest
from kubernetes import client as k8s
from playwright.sync_api import Page, expect

from environments.models import Blueprint, Environment
from environments.services import environment_create
from portal.accounts import roles
from portal.audit.actor import Actor
from tests.factories import TeamFactory, UserFactory

from .support import SERVER_ROLLOUT_TIMEOUT_SECONDS, log_in, outside_browser_loop
from .test_environment_journey import PICKED, local_cluster, namespaces_to_delete  # noqa: F401

pytestmark = pytest.mark.e2e


def test_a_developer_puts_an_environment_to_sleep_and_wakes_it(
        page: Page, screenshot, local_cluster, kube_client: k8s.ApiClient,  # noqa: F811
        namespaces_to_delete: list[str], settings) -> None:  # noqa: F811
    settings.SLIPWAY_ROLLOUT_TIMEOUT_SECONDS = SERVER_ROLLOUT_TIMEOUT_SECONDS
    settings.SLIPWAY_SLEEP_TIMEOUT_SECONDS = SERVER_ROLLOUT_TIMEOUT_SECONDS
    team = TeamFactory(slug="payments", name="Payments")
    developer = UserFactory(username="dora", roles=[roles.DEVELOPERS], teams=[team])
    name = f"e2e-sleep-{uuid.uuid4().hex[:6]}"
    namespaces_to_delete.append(f"slw-{name}")
    with outside_browser_loop():  # Celery is eager here: the rollout runs in this call
        environment = environment_create(actor=Actor.for_user(developer), user=developer, cluster=local_cluster,
                                         blueprint=Blueprint.objects.get(name="shop"), name=name, stage="qa",
                                         team=team, versions=dict(PICKED))
    environment.refresh_from_db()
    assert environment.status == Environment.READY, environment.status_message

    log_in(page, "dora")
    page.goto(f"/environments/{environment.pk}/")
    expect(page.get_by_role("button", name="Sleep now")).to_be_visible()
    screenshot("sleep-ready")
    page.get_by_role("button", name="Sleep now").click()
    expect(page.locator("[data-environment-status]").first).to_contain_text("asleep", timeout=60_000)
    expect(page.locator('[data-sleep="asleep"]')).to_contain_text("Asleep since")
    expect(page.get_by_role("button", name="Wake now")).to_be_visible()
    expect(page.get_by_role("button", name="Sleep now")).to_have_count(0)
    screenshot("sleep-asleep")
    apps = k8s.AppsV1Api(kube_client)
    assert {d.spec.replicas for d in apps.list_namespaced_deployment(environment.namespace).items} == {0}

    page.goto("/environments/")
    row = page.get_by_role("row").filter(has_text=name)
    expect(row.locator(".badge-asleep")).to_have_text("asleep")
    screenshot("sleep-list")

    page.goto(f"/environments/{environment.pk}/")
    page.get_by_role("button", name="Wake now").click()
    expect(page.locator("[data-environment-status]").first).to_contain_text("ready", timeout=60_000)
    expect(page.get_by_role("button", name="Sleep now")).to_be_visible()
    screenshot("sleep-woken")
    assert {d.spec.replicas for d in apps.list_namespaced_deployment(environment.namespace).items} == {1}
