"""Browser journey (issue 16, chaos experiments): a developer opts an environment in, creates a pod-kill
experiment, runs it, watches a run's timeline update live (no reload), reads the report with its chart,
and after two recovered runs sees the "chaos-ready" badge on the environment page and in the list.

The environment is rolled out for real on the stack's local control plane and the faults are real
(a pod of ``api`` is deleted and replaced). The live server runs Celery eagerly inside its requests, so
the first run, started with "Run now", has ended when its report loads; the second is started here with
its job held, the report page opened, and the job run here as a worker would (as the live-status
journeys do), so the page must follow it over the job websocket and its live regions.
"""

from __future__ import annotations

import re
import uuid

import pytest
from kubernetes import client as k8s
from playwright.sync_api import Page, expect

from environments.chaos.models import ChaosExperiment, ChaosRun
from environments.chaos.runs import chaos_run_start
from environments.chaos.tasks import chaos_run
from environments.models import Blueprint, Component, Environment
from environments.services import environment_create
from portal.accounts import roles
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from tests.factories import TeamFactory, UserFactory

from .support import SERVER_ROLLOUT_TIMEOUT_SECONDS, log_in, outside_browser_loop
from .test_environment_journey import PICKED, local_cluster, namespaces_to_delete  # noqa: F401
from .test_live_status_journey import assert_not_reloaded, jobs_held, mark_no_reload

pytestmark = pytest.mark.e2e
RUN = 90_000  # ms: a run checks the steady state, kills a pod and watches its replacement become ready
LIVE = 30_000  # ms: the page follows a run that ends while it is open


def test_a_developer_runs_chaos_watches_it_live_and_earns_the_badge(
        page: Page, screenshot, local_cluster, kube_client: k8s.ApiClient,  # noqa: F811
        namespaces_to_delete: list[str], settings) -> None:  # noqa: F811
    settings.SLIPWAY_ROLLOUT_TIMEOUT_SECONDS = SERVER_ROLLOUT_TIMEOUT_SECONDS
    # Two api pods: killing one leaves the Service an endpoint, so availability stays above the target.
    Component.objects.filter(name="api").update(replicas=2)
    team = TeamFactory(slug="payments", name="Payments")
    developer = UserFactory(username="devi", roles=[roles.DEVELOPERS], teams=[team])
    name = f"e2e-chaos-{uuid.uuid4().hex[:6]}"
    namespaces_to_delete.append(f"slw-{name}")
    with outside_browser_loop():  # Celery is eager here: the rollout runs in this call
        environment = environment_create(actor=Actor.for_user(developer), user=developer, cluster=local_cluster,
                                         blueprint=Blueprint.objects.get(name="shop"), name=name, stage="qa",
                                         team=team, versions=dict(PICKED))
    environment.refresh_from_db()
    assert environment.status == Environment.READY, environment.status_message

    # Opt in (off by default: the page says so and why nothing can run yet).
    log_in(page, "devi")
    page.goto(f"/environments/{environment.pk}/")
    page.get_by_role("link", name="Chaos experiments").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Chaos experiments"), level=1)).to_be_visible()
    expect(page.locator("[data-chaos-refusal]")).to_contain_text("opt the environment in first")
    page.get_by_label("Chaos experiments enabled").check()
    page.get_by_label("Runs for the chaos-ready badge").fill("2")
    page.get_by_role("button", name="Save chaos settings").click()
    expect(page.get_by_role("status")).to_contain_text(f"Chaos settings of {name} saved.")
    expect(page.locator("[data-chaos-refusal]")).to_have_count(0)
    screenshot("chaos-opted-in")

    # A pod-kill experiment: a wrong target is refused on its field, then fixed.
    page.get_by_role("link", name="New experiment").click()
    page.get_by_label("Name", exact=True).fill("kill-api")
    page.get_by_label("Fault", exact=True).select_option(label="Kill one pod")
    page.get_by_label("Target component or backing service").fill("nope")
    page.get_by_role("button", name="Create experiment").click()
    expect(page.locator("#id_target_error")).to_be_visible()
    screenshot("chaos-experiment-refused")
    page.get_by_label("Target component or backing service").fill("api")
    page.get_by_role("button", name="Create experiment").click()
    row = page.locator('[data-experiment="kill-api"]')
    expect(row).to_contain_text("once, by hand")
    expect(row).to_contain_text("Kill one pod")
    screenshot("chaos-experiments")

    # Run 1, from the button: the server runs it inside the request; the report shows the result.
    row.get_by_role("button", name="Run now").click()
    expect(page).to_have_url(re.compile(r"/environments/chaos/runs/\d+/$"), timeout=RUN)
    expect(page.locator("[data-run-status]")).to_have_text("recovered", timeout=RUN)
    timeline = page.locator("[data-chaos-timeline] li")
    kinds = timeline.evaluate_all("items => items.map(i => i.dataset.kind)")
    assert "fault" in kinds and "recovered" in kinds and kinds.index("fault") < kinds.index("recovered"), kinds
    expect(page.get_by_role("img", name=re.compile("Recovery time of kill-api's runs"))).to_be_visible()
    expect(page.locator("[data-recovery]")).to_contain_text(re.compile(r"\d+\.\d+ s"))
    screenshot("chaos-run-report")

    # Run 2, watched live: queued when the page opens, recovered on the same page without a reload.
    experiment = ChaosExperiment.objects.get(environment=environment, name="kill-api")
    with outside_browser_loop(), jobs_held():
        run = chaos_run_start(actor=Actor.for_user(developer), user=developer, experiment=experiment)
    page.goto(f"/environments/chaos/runs/{run.pk}/")
    expect(page.locator("[data-run-status]")).to_have_text("queued")
    expect(page.locator("[data-chaos-timeline-empty]")).to_be_visible()
    mark_no_reload(page)
    with outside_browser_loop():
        chaos_run.apply(args=(str(run.job_id), Actor.for_user(developer).to_dict()))
    run.refresh_from_db()
    assert run.status == ChaosRun.RECOVERED, (run.status_message, run.events)
    stream = page.locator("[data-job-stream]")
    expect(stream.locator("[data-job-state]")).to_have_text("succeeded", timeout=LIVE)
    expect(stream.locator("[data-job-log]")).to_contain_text("api", timeout=LIVE)
    expect(page.locator("[data-run-status]")).to_have_text("recovered", timeout=LIVE)
    expect(page.locator('[data-chaos-timeline] li[data-kind="recovered"]')).to_have_count(1, timeout=LIVE)
    assert_not_reloaded(page)
    screenshot("chaos-run-live")

    # Two recovered runs on r1: the badge on the chaos page, the environment page and the list.
    revision = environment.current_revision.number
    page.get_by_role("link", name=f"← Chaos experiments of {name}").click()
    expect(page.locator("[data-chaos-ready]")).to_have_text(f"chaos-ready · r{revision}")
    expect(page.locator('[data-stat="count"]')).to_have_text("2")
    screenshot("chaos-environment-page")
    page.goto(f"/environments/{environment.pk}/")
    expect(page.locator("[data-chaos-ready]")).to_have_text(f"chaos-ready · r{revision}")
    screenshot("chaos-badge-environment")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Environments", exact=True).click()
    expect(page.get_by_role("row", name=re.compile(name)).locator("[data-chaos-ready]")).to_have_text(
        f"chaos-ready · r{revision}")
    screenshot("chaos-badge-list")

    # The global page: both runs, nothing running, and the global kill switch is not a developer's to engage.
    page.get_by_role("link", name="Chaos runs").click()
    expect(page.get_by_role("heading", name="Chaos experiments", level=1)).to_be_visible()
    expect(page.locator("[data-chaos-runs] tbody tr")).to_have_count(2)
    expect(page.locator("#chaos-active")).to_contain_text("No experiment is running.")
    expect(page.locator('[data-kill-switch-state="released"]')).to_be_visible()
    expect(page.get_by_role("button", name="Stop all chaos everywhere")).to_have_count(0)
    # The main navigation names the page it is on.
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Chaos", exact=True)).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("link", name="Environments", exact=True)).not_to_have_attribute("aria-current", "page")
    screenshot("chaos-global")

    # The same settings and experiments as one YAML document (the API's schema).
    page.goto(f"/environments/{environment.pk}/chaos/")
    page.get_by_role("link", name="YAML document").click()
    document = page.get_by_label("Chaos document (YAML)")
    expect(document).to_have_value(re.compile(r"kind: ChaosExperiments[\s\S]*name: kill-api[\s\S]*target: api"))
    screenshot("chaos-document")

    # The environment's kill switch: one clear button, its state shown, and nothing may run while engaged.
    page.goto(f"/environments/{environment.pk}/chaos/")
    page.get_by_role("button", name=f"Stop all chaos in {name}").click()
    expect(page.locator('[data-kill-switch-state="engaged"]')).to_contain_text("Engaged by devi")
    expect(page.locator("[data-chaos-refusal]")).to_contain_text("kill switch")
    screenshot("chaos-kill-switch-engaged")
    page.locator('[data-experiment="kill-api"]').get_by_role("button", name="Run now").click()
    expect(page.get_by_role("status")).to_contain_text("kill switch")
    assert ChaosRun.objects.filter(environment=environment).count() == 2
    assert AuditEvent.objects.filter(action="chaos.settings_changed").exists()
