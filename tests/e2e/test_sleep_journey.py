"""Browser journeys (issue 17, sleep and wake). The sleep part's: a developer puts a ready environment to sleep
with "Sleep now", sees it asleep on its page and in the list (its own badge), and wakes it with "Wake now".

The wake part's: a QA user creates an environment and sees its cost forecast on
the New environment form, finds the team's sleep schedule inherited on its page, puts it to sleep with
"Sleep now", then visits its hostname as its Ingress would forward a visitor while it sleeps, and watches
the public waking page follow the wake until it is ready.

How the hostname is reached: Chromium cannot send a foreign Host header reliably, so a second browser is
launched with ``--host-resolver-rules=MAP <hostname> 127.0.0.1`` and goes to ``http://<hostname>:<port>/``:
Django then sees ``Host: <hostname>:<port>``, as an ingress forwards it. The live server runs Celery
eagerly inside its requests, so the first request (tab A) runs the whole wake job before it answers; a
second visitor (tab B) meanwhile gets the waking page at once and follows the wake live (polling the
status every second). On the local plane no application answers (kwok pods serve nothing, and no Ingress
controller switches routes back), so after "ready" the page's reloads keep reaching Slipway: it reloads a
few times and then says so, instead of looping — that is the end state checked here.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone
from kubernetes import client as k8s
from playwright.sync_api import Browser, Page, expect

from environments.models import Blueprint, Environment, Rollout
from environments.services import environment_create
from environments.sleep.models import SleepSchedule, SleepState
from portal.accounts import roles
from portal.audit.actor import Actor
from tests.factories import TeamFactory, UserFactory

from .accessibility import check_final_state, install_axe
from .conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORT
from .support import ARTIFACTS, SERVER_ROLLOUT_TIMEOUT_SECONDS, expect_job_succeeded, log_in, outside_browser_loop
from .test_environment_journey import (  # noqa: F401  (fixtures)
    PICKED,
    local_cluster,
    namespaces_to_delete,
    pick_blueprint_and_versions,
    qa_user,
)

pytestmark = pytest.mark.e2e
ROLLOUT = 120_000  # ms
WAKE = 120_000  # ms: scaling three Deployments back up on the local plane


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


def wait_for_status(environment: Environment, status: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while Environment.objects.filter(pk=environment.pk).values_list("status", flat=True).get() != status:
        assert time.monotonic() < deadline, f"{environment.name} never became {status}"
        time.sleep(0.2)


def test_qa_sleeps_an_environment_and_its_hostname_wakes_it(
        page: Page, screenshot, browser: Browser, live_asgi_server, local_cluster, qa_user,  # noqa: F811
        kube_client: k8s.ApiClient, namespaces_to_delete: list[str]) -> None:  # noqa: F811
    team = qa_user.teams.get()
    SleepSchedule.objects.create(team=team, stage="qa", sleep_cron="0 20 * * 1-5", wake_cron="0 8 * * 1-5",
                                 timezone="Europe/Berlin", idle_hours=4)
    name = f"e2e-zz-{uuid.uuid4().hex[:6]}"
    namespaces_to_delete.append(f"slw-{name}")

    # The New environment form: the forecast counts the team's schedule.
    log_in(page, "quinn")
    page.get_by_role("link", name="New environment").click()
    page.get_by_label("Name", exact=True).fill(name)
    pick_blueprint_and_versions(page, PICKED)
    page.get_by_label("Team", exact=True).select_option("payments")
    forecast = page.locator("[data-forecast]")
    expect(forecast).to_be_visible()
    expect(forecast).to_contain_text("with the sleep schedule")
    expect(forecast).to_contain_text("awake 36% of the week")  # awake_fraction: 60 of 168 hours
    screenshot("sleep-journey-1-new-with-forecast")
    page.get_by_role("button", name="Create environment").click()
    expect(page).to_have_url(re.compile(r"/environments/\d+/$"), timeout=ROLLOUT)
    expect_job_succeeded(page.locator("[data-job-stream]"), ROLLOUT)
    environment = Environment.objects.get(name=name)
    hostname = f"{name}.payments.apps.example.test"
    # No Route 53 on the local cluster: the name an ingress would serve is given here.
    Environment.objects.filter(pk=environment.pk).update(hostname=hostname)

    # Its page: the schedule is the team's default, shown as inherited.
    page.reload()
    panel = page.locator("#env-sleep-schedule")
    expect(panel).to_contain_text("Inherited from the default for Payments / qa")
    expect(panel).to_contain_text("0 20 * * 1-5")
    expect(panel).to_contain_text("after 4 h without activity")
    screenshot("sleep-journey-2-schedule-panel")
    panel.screenshot(path=str(ARTIFACTS / "sleep-journey-2b-panel-only.png"))

    # Sleep now (the job runs inside the request on the live server).
    page.get_by_role("button", name="Sleep now").click()
    expect(page.locator("[data-environment-status]")).to_have_text("asleep", timeout=ROLLOUT)
    expect(page.locator("[data-sleep=asleep]")).to_be_visible()
    screenshot("sleep-journey-3-asleep")

    # An hour without activity (the rollout's within the minute would throttle the visit's record).
    SleepState.objects.filter(environment=environment).update(last_activity_at=timezone.now() - timedelta(hours=1))

    # Visitors of its hostname, through a browser whose resolver maps the hostname to the live server.
    visitor_browser = browser.browser_type.launch(
        executable_path=str(CHROMIUM), headless=True,
        args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {hostname} 127.0.0.1"])
    try:
        context = visitor_browser.new_context(viewport=VIEWPORT)
        findings = install_axe(context)
        address = f"http://{hostname}:{live_asgi_server.port}/orders?page=2"
        first, second = context.new_page(), context.new_page()
        # A wake on an idle plane can take 0.3 s: the nodes are cordoned so that the scaled-up pods wait to be
        # scheduled, and the second visitor sees the wake in progress for as long as this test needs.
        with nodes_cordoned(kube_client):
            first.evaluate("url => setTimeout(() => { location.href = url; }, 0)", address)  # does not wait
            wait_for_status(environment, Environment.WAKING)
            second.goto(address)
            expect(second.get_by_role("heading", name=f"Waking up {name}", level=1)).to_be_visible()
            expect(second.locator("#waking-status")).to_have_text("Waking up")
            second.wait_for_function("() => parseInt(document.getElementById('waking-progress')"
                                     ".getAttribute('aria-valuenow'), 10) > 5", timeout=WAKE)
            screenshot_of(second, "sleep-journey-4-waking")
        # Ready: the page says how long the wake took and tells the browser to reload into the application.
        expect(second.locator("#waking-status")).to_have_text("Ready", timeout=WAKE)
        expect(second.get_by_role("heading", name=f"{name} is awake", level=1)).to_be_visible()
        expect(second.locator("#waking-time")).to_contain_text(re.compile(r"Woke up in \d+\.\d s\."))
        screenshot_of(second, "sleep-journey-5-ready")
        # No application answers on the local plane: after a few reloads the page stops and says so.
        expect(second.locator("#waking[data-gave-up]")).to_be_attached(timeout=30_000)
        expect(second.locator("#waking-message")).to_contain_text("still reaches the waking page")
        screenshot_of(second, "sleep-journey-6-ready-no-application")
        for visitor in (first, second):
            check_final_state(visitor)
        assert not findings.failures, findings.report()
        context.close()
    finally:
        visitor_browser.close()

    environment.refresh_from_db()
    assert environment.status == Environment.READY, environment.status_message
    assert Rollout.objects.filter(environment=environment, job__kind="wake").count() == 1  # two visitors, one wake
    state = SleepState.objects.get(environment=environment)
    assert state.reason == "request" and state.last_wake_seconds > 0 and state.last_activity_kind == "request"
    # Back on Slipway, the environment page shows the measured wake-up time.
    page.reload()
    expect(page.locator("#env-sleep-schedule")).to_contain_text(f"{state.last_wake_seconds:.1f} s")


@contextmanager
def nodes_cordoned(api: k8s.ApiClient) -> Iterator[None]:
    """Every schedulable node cordoned while the block runs (pods created meanwhile stay Pending), then uncordoned."""
    core = k8s.CoreV1Api(api)
    cordoned = [node.metadata.name for node in core.list_node().items if not node.spec.unschedulable]
    for node in cordoned:
        core.patch_node(node, {"spec": {"unschedulable": True}})
    try:
        yield
    finally:
        for node in cordoned:
            core.patch_node(node, {"spec": {"unschedulable": False}})


def screenshot_of(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_an_admin_manages_default_sleep_schedules(page: Page, screenshot, transactional_db) -> None:
    TeamFactory(slug="search", name="Search")
    UserFactory(username="ada", roles=[roles.PLATFORM_ADMINS])
    log_in(page, "ada")
    page.goto("/environments/sleep-schedules/")
    expect(page.get_by_role("heading", name="Default sleep schedules", level=1)).to_be_visible()
    expect(page.locator("section.card")).to_contain_text("No default sleep schedules")
    page.get_by_role("link", name="New default").click()
    page.get_by_label("Team", exact=True).select_option(label="Search")
    page.get_by_label("Sleep at (cron)").fill("every evening")
    page.get_by_label("Time zone").fill("Europe/Berlin")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#id_sleep_cron_error")).to_contain_text("five cron fields")
    screenshot("sleep-defaults-1-refused")
    page.get_by_label("Sleep at (cron)").fill("0 20 * * 1-5")
    page.get_by_label("Wake at (cron)").fill("0 8 * * 1-5")
    page.get_by_label("Sleep after idle (hours)").fill("3")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Default sleep schedule created.")
    row = page.locator("[data-default]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Search")
    expect(row).to_contain_text("3 h")
    screenshot("sleep-defaults-2-list")
    assert SleepSchedule.objects.get(team__slug="search").idle_hours == 3
