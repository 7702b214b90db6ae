"""Browser journeys (issue 13, points 3, 4 and 6): pages tell the truth, live, when a job ends.

The live server runs Celery eagerly inside its requests, so a job started from the browser has ended
before the next page loads. To watch a job end with the pages open, these journeys start the work in
the test process with its job *held* (saved and queued, not run), open the pages, then run the job
here, as a worker would, and assert what the pages show without reloading them. Rollouts and destroys
are real, on the stack's local Kubernetes control plane.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client as k8s
from playwright.sync_api import Page, expect

from clusters.kube.owner_labels import ENVIRONMENT, MANAGED_BY
from environments.models import Blueprint, Environment
from environments.services import environment_create, environment_destroy
from environments.tasks import destroy, rollout
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.celery import app as celery_app
from portal.jobs.models import Job

from .support import ARTIFACTS, SERVER_ROLLOUT_TIMEOUT_SECONDS, log_in, outside_browser_loop
from .test_environment_journey import PICKED, local_cluster, namespaces_to_delete, qa_user  # noqa: F401

pytestmark = pytest.mark.e2e
LIVE = 20_000  # ms: a region refresh follows the job's end within a few seconds
ROLLOUT = (SERVER_ROLLOUT_TIMEOUT_SECONDS + 30) * 1000


@contextlib.contextmanager
def jobs_held() -> Iterator[None]:
    """Jobs started in the block are saved and queued on the test's memory:// broker, which nothing reads."""
    celery_app.conf.task_always_eager = False
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = True


def run_job(job: Job, user) -> str:
    """Run a held job here, as a worker would, while the browser keeps its pages open."""
    task = {"rollout": rollout, "destroy": destroy}[job.kind]
    with outside_browser_loop():
        task.apply(args=(str(job.pk), Actor.for_user(user).to_dict()))
    job.refresh_from_db()
    return job.state


def mark_no_reload(page: Page) -> None:
    page.evaluate("window.__sameDocument = true")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"


def create_held(user, cluster, name: str) -> Environment:
    with jobs_held():
        return environment_create(actor=Actor.for_user(user), user=user, cluster=cluster,
                                  blueprint=Blueprint.objects.get(name="shop"), name=name, stage="qa",
                                  team=user.teams.get(), versions=dict(PICKED))


@pytest.fixture
def rollout_deadline(settings):
    settings.SLIPWAY_ROLLOUT_TIMEOUT_SECONDS = SERVER_ROLLOUT_TIMEOUT_SECONDS


def status_of(page: Page):
    return page.locator("[data-environment-status] [data-status]").first


def test_badges_workloads_actions_and_lists_change_in_place_when_rollout_and_destroy_end(
        page: Page, local_cluster, qa_user, namespaces_to_delete: list[str],  # noqa: F811
        rollout_deadline) -> None:
    name = f"e2e-live-{uuid.uuid4().hex[:6]}"
    namespaces_to_delete.append(f"slw-{name}")
    environment = create_held(qa_user, local_cluster, name)
    job = environment.rollouts.get().job

    log_in(page, "quinn")
    dashboard = page.locator("#dashboard-environments tr", has=page.get_by_role("link", name=name))
    expect(dashboard.locator("[data-status]")).to_have_text("pending")
    listing = page.context.new_page()
    listing.goto("/environments/")
    row = listing.locator("#environment-rows tr", has=listing.get_by_role("link", name=name))
    expect(row.locator("[data-status]")).to_have_text("pending")
    detail = page.context.new_page()
    detail.goto(f"/environments/{environment.pk}/")
    expect(status_of(detail)).to_have_text("pending")
    expect(detail.locator("#env-live")).to_contain_text("No workloads.")
    # The running job's progress is at the top, visible without scrolling.
    stream = detail.locator("#env-job [data-job-stream]")
    expect(detail.get_by_role("heading", name=re.compile(r"^Running job: Roll out"))).to_be_in_viewport()
    expect(stream.locator("[data-job-state]")).to_have_text("queued")
    expect(stream).to_be_in_viewport()
    screenshot_page(detail, "live-rollout-pending")
    for p in (page, listing, detail):
        mark_no_reload(p)

    assert run_job(job, qa_user) == Job.SUCCEEDED, job.error

    expect(stream.locator("[data-job-state]")).to_have_text("succeeded", timeout=LIVE)
    expect(status_of(detail)).to_have_text("ready", timeout=LIVE)
    expect(detail.locator('#env-live [data-ready="web"]')).to_have_text("1/1")
    expect(detail.locator("#env-live")).not_to_contain_text("No workloads.")
    expect(detail.get_by_role("button", name="Roll out new revision")).to_be_visible()
    expect(row.locator("[data-status]")).to_have_text("ready", timeout=LIVE)
    expect(dashboard.locator("[data-status]")).to_have_text("ready", timeout=LIVE)
    screenshot_page(detail, "live-rollout-ready")
    for p in (page, listing, detail):
        assert_not_reloaded(p)

    # A destroy started elsewhere (another tab, the API): the pages that show it follow it to its end.
    with jobs_held():
        destroy_job = environment_destroy(actor=Actor.for_user(qa_user), user=qa_user, environment=environment)
    listing.goto("/environments/")
    expect(row.locator("[data-status]")).to_have_text("destroying")
    detail.goto(f"/environments/{environment.pk}/")
    expect(status_of(detail)).to_have_text("destroying")
    expect(detail.get_by_role("heading", name=re.compile(r"^Running job: Destroy"))).to_be_in_viewport()
    for gone in ("Roll out new revision", "Destroy environment", "Extend"):
        expect(detail.get_by_role("button", name=gone)).to_have_count(0)
    screenshot_page(detail, "live-destroying")
    for p in (listing, detail):
        mark_no_reload(p)

    assert run_job(destroy_job, qa_user) == Job.SUCCEEDED, destroy_job.error

    expect(status_of(detail)).to_have_text("destroyed", timeout=LIVE)
    expect(detail.locator("#env-live")).to_contain_text("Nothing runs: the environment was destroyed.")
    expect(detail.locator("#env-job [data-job-state]")).to_have_text("succeeded")
    expect(detail.get_by_role("link", name="Logs", exact=True)).to_have_count(0)
    expect(detail.get_by_role("button", name="Check drift now")).to_have_count(0)
    expect(row).to_have_count(0, timeout=LIVE)  # the list shows live environments only
    screenshot_page(detail, "live-destroyed")
    for p in (listing, detail):
        assert_not_reloaded(p)


def test_a_failed_rollout_shows_failed_live_and_is_retried_to_ready(
        page: Page, local_cluster, qa_user, kube_client: k8s.ApiClient,  # noqa: F811
        namespaces_to_delete: list[str], rollout_deadline) -> None:  # noqa: F811
    name = f"e2e-retry-{uuid.uuid4().hex[:6]}"
    namespace = f"slw-{name}"
    namespaces_to_delete.append(namespace)
    # Someone put a quota of their own into the environment's namespace that allows no pod: the rollout
    # cannot start any. (The namespace carries Slipway's labels for it: an unlabelled one is refused.)
    core = k8s.CoreV1Api(kube_client)
    core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(
        name=namespace, labels={MANAGED_BY: "slipway", ENVIRONMENT: name})))
    core.create_namespaced_resource_quota(namespace, k8s.V1ResourceQuota(
        metadata=k8s.V1ObjectMeta(name="frozen"), spec=k8s.V1ResourceQuotaSpec(hard={"pods": "0"})))
    environment = create_held(qa_user, local_cluster, name)

    log_in(page, "quinn")
    page.goto(f"/environments/{environment.pk}/")
    expect(status_of(page)).to_have_text("pending")
    mark_no_reload(page)

    assert run_job(environment.rollouts.get().job, qa_user) == Job.FAILED

    expect(status_of(page)).to_have_text("failed", timeout=LIVE)
    expect(page.locator("#env-status-message")).to_contain_text("quota exceeded", timeout=LIVE)
    expect(page.locator("#env-job [data-job-state]")).to_have_text("failed")
    expect(page.locator('#env-live [data-ready="web"]')).to_have_text("0/1")
    retry = page.get_by_role("button", name="Retry rollout of r1")
    expect(retry).to_be_in_viewport()
    assert_not_reloaded(page)
    screenshot_page(page, "live-rollout-failed")

    # The cause is fixed outside Slipway; the same revision is retried from the page and ends Ready.
    core.delete_namespaced_resource_quota("frozen", namespace)
    retry.click(timeout=ROLLOUT)
    expect(page.get_by_role("status")).to_contain_text("Retrying: the job is running again.", timeout=ROLLOUT)
    expect(status_of(page)).to_have_text("ready", timeout=ROLLOUT)
    expect(page.locator("#env-job [data-job-state]")).to_have_text("succeeded")
    expect(page.locator('#env-live [data-ready="web"]')).to_have_text("1/1")
    expect(page.get_by_role("button", name="Retry rollout of r1")).to_have_count(0)
    screenshot_page(page, "live-retried-ready")
    environment.refresh_from_db()
    assert environment.status == "ready" and environment.revisions.count() == 1
    assert AuditEvent.objects.filter(action="environment.retry", object_id=str(environment.pk),
                                     outcome="success").count() == 1


def screenshot_page(page: Page, name: str) -> None:
    """Like the ``screenshot`` fixture, for any tab (that one captures the test's first page only)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_rollout_to_an_unreachable_cluster_turns_failed_live_with_a_retry(page: Page, qa_user) -> None:  # noqa: F811
    # No local control plane needed: this cluster answers nowhere, so the rollout fails at once.
    from django.core.management import call_command

    from clusters.models import Cluster
    from tests.environments.test_services import KUBECONFIG

    call_command("seed_demo_blueprint", verbosity=0)
    cluster = Cluster.objects.create(name="nowhere", kind="local", kubeconfig=KUBECONFIG, is_default=True)
    environment = create_held(qa_user, cluster, f"e2e-gone-{uuid.uuid4().hex[:6]}")

    log_in(page, "quinn")
    page.goto(f"/environments/{environment.pk}/")
    expect(status_of(page)).to_have_text("pending")
    expect(page.get_by_role("button", name="Retry rollout of r1")).to_have_count(0)
    mark_no_reload(page)

    assert run_job(environment.rollouts.get().job, qa_user) == Job.FAILED

    expect(status_of(page)).to_have_text("failed", timeout=LIVE)
    expect(page.locator("#env-status-message")).to_contain_text("Cluster nowhere is unreachable")
    expect(page.locator("#env-job [data-job-state]")).to_have_text("failed")
    expect(page.get_by_role("button", name="Retry rollout of r1")).to_be_in_viewport()
    expect(page.get_by_role("heading", name=re.compile(r"^Latest job: Roll out"))).to_be_visible(timeout=LIVE)
    assert_not_reloaded(page)
    screenshot_page(page, "live-unreachable-failed")


def test_every_page_says_what_is_true(page: Page, qa_user) -> None:  # noqa: F811
    """One badge everywhere: failed, drifted, destroying, and a plan awaiting approval (not "succeeded")."""
    from django.core.management import call_command

    from clusters.models import Cluster, TerraformRun
    from portal.accounts import roles
    from tests.environments.test_services import KUBECONFIG
    from tests.factories import UserFactory

    call_command("seed_demo_blueprint", verbosity=0)
    cluster = Cluster.objects.create(name="nowhere", kind="local", kubeconfig=KUBECONFIG, is_default=True)
    failed = create_held(qa_user, cluster, "e2e-failed")
    run_job(failed.rollouts.get().job, qa_user)
    drifted = create_held(qa_user, cluster, "e2e-drifted")
    Environment.objects.filter(pk=drifted.pk).update(status="ready", drift=[{"key": ["apps/v1", "Deployment",
                                                                                     "slw-e2e-drifted", "web"]}])
    going = create_held(qa_user, cluster, "e2e-going")
    Environment.objects.filter(pk=going.pk).update(status="destroying")
    plan = Job.objects.create(kind="terraform-plan", title="Plan cluster nowhere", state=Job.SUCCEEDED, progress=100,
                              message="awaiting approval")
    run = TerraformRun.objects.create(cluster=cluster, action=TerraformRun.APPLY, plan_job=plan,
                                      state=TerraformRun.AWAITING_APPROVAL)
    UserFactory(username="ada", roles=[roles.PLATFORM_ADMINS])

    log_in(page, "quinn")
    for env, text in (("e2e-failed", "failed"), ("e2e-drifted", "ready drifted"), ("e2e-going", "destroying")):
        row = page.locator("#dashboard-environments tr", has=page.get_by_role("link", name=env))
        expect(row.locator("[data-environment-status]")).to_have_text(text)
    screenshot_page(page, "truth-dashboard")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Environments", exact=True).click()
    rows = page.locator("#environment-rows")
    expect(rows.locator("tr", has=page.get_by_role("link", name="e2e-drifted")).locator(
        "[data-environment-status]")).to_have_text("ready drifted")
    expect(rows.locator("tr", has=page.get_by_role("link", name="e2e-going")).locator(
        "[data-environment-status]")).to_have_text("destroying")
    screenshot_page(page, "truth-environments")
    page.get_by_role("link", name="e2e-drifted").click()
    expect(status_of(page)).to_have_text("ready")
    expect(page.locator("[data-environment-status]")).to_have_text("ready drifted")
    page.get_by_role("link", name="Log out").or_(page.get_by_role("button", name="Log out")).click()

    log_in(page, "ada")
    page.goto(f"/clusters/runs/{run.pk}/")
    expect(page.locator("[data-run-state-badge]")).to_have_text("awaiting approval")
    expect(page.locator("[data-job-stream] [data-job-state]")).to_have_text("awaiting approval")
    expect(page.locator("main")).not_to_contain_text("succeeded")
    screenshot_page(page, "truth-run-awaiting-approval")
    page.goto("/jobs/")
    row = page.locator("#job-rows tr", has=page.get_by_role("link", name="Plan cluster nowhere"))
    expect(row.locator("[data-status]")).to_have_text("awaiting approval")
    screenshot_page(page, "truth-jobs")
    page.goto(f"/clusters/{cluster.pk}/")
    envs = page.locator("#cluster-environments")
    expect(envs.locator("tr", has=page.get_by_role("link", name="e2e-failed")).locator(
        "[data-environment-status]")).to_have_text("failed")
    screenshot_page(page, "truth-cluster")


def _regions_page(n: int, *, transitional: bool) -> str:
    live = " data-live-transitional" if transitional else ""
    return f"""<!doctype html><html lang="en"><head><title>live regions</title>
<script src="/static/js/live-regions.js" defer></script></head><body><main>
<div id="badge" data-live-region><span class="badge" data-status="s{n}"{live}>state {n}</span></div>
<form id="form" data-live-region><label for="note">Note</label><input id="note" name="note" value="">
  <input type="hidden" name="csrfmiddlewaretoken" value="token-{n}"><span>form {n}</span></form>
<div id="steady" data-live-region><input type="hidden" name="csrfmiddlewaretoken" value="token-{n}">steady</div>
</main></body></html>"""


def test_live_regions_swap_what_changed_and_keep_what_a_person_is_typing(page: Page) -> None:
    """static/js/live-regions.js on its own: a page served here, refreshed in place by the script."""
    served = {"n": 0, "transitional": True, "hits": 0}

    def serve(route) -> None:
        served["hits"] += 1
        route.fulfill(status=200, content_type="text/html",
                      body=_regions_page(served["n"], transitional=served["transitional"]))

    page.route("**/live-regions-check/", serve)
    page.goto("/live-regions-check/")
    page.evaluate("document.getElementById('steady').dataset.original = 'yes'")
    page.get_by_label("Note").fill("half-typed")

    # Something is transitional: the script refreshes by itself, without any event.
    served.update(n=1, transitional=False)
    expect(page.locator("#badge")).to_have_text("state 1", timeout=LIVE)
    # The form changed too, but the person is typing in it: it stays as it is, with their text.
    expect(page.locator("#form")).to_contain_text("form 0")
    expect(page.get_by_label("Note")).to_have_value("half-typed")
    # Only a new CSRF token: not a change, the region is not replaced.
    expect(page.locator("#steady")).to_have_attribute("data-original", "yes")

    # Nothing transitional any more: no more refreshes until a job stream says a job ended.
    hits = served["hits"]
    page.wait_for_timeout(5000)
    assert served["hits"] == hits, "the page kept refreshing with nothing in a transitional state"
    page.get_by_label("Note").fill("")
    page.get_by_label("Note").blur()
    served["n"] = 2
    page.evaluate("document.dispatchEvent(new CustomEvent('slipway:job-finished'))")
    expect(page.locator("#form")).to_contain_text("form 2", timeout=LIVE)
    expect(page.locator("#badge")).to_have_text("state 2")


def test_cluster_and_run_pages_follow_a_terraform_run(page: Page) -> None:
    """A Terraform run's rows change as its worker writes them: the pages follow without a reload.

    The worker is played by this test writing the rows a plan writes (the real plan, apply and destroy
    run in tests/e2e/test_cluster_journey.py); what is under test is what the pages show meanwhile.
    """
    from clusters.models import Cluster, TerraformRun
    from portal.accounts import roles
    from tests.factories import UserFactory

    UserFactory(username="ada", roles=[roles.PLATFORM_ADMINS])
    cluster = Cluster.objects.create(name="tf-live", kind="local", status=Cluster.PROVISIONING,
                                     managed_by_terraform=True)
    plan = Job.objects.create(kind="terraform.apply", title="Terraform apply: tf-live", state=Job.RUNNING,
                              progress=30, target_type="clusters.cluster", target_id=str(cluster.pk))
    run = TerraformRun.objects.create(cluster=cluster, action=TerraformRun.APPLY, plan_job=plan,
                                      state=TerraformRun.RUNNING)

    log_in(page, "ada")
    page.goto(f"/clusters/{cluster.pk}/")
    expect(page.locator("[data-cluster-status]")).to_have_text("provisioning")
    expect(page.locator("#cluster-health [data-status]")).to_have_text("provisioning")
    listing = page.context.new_page()
    listing.goto("/clusters/")
    row = listing.locator('#cluster-rows tr[data-cluster="tf-live"]')
    expect(row.locator("[data-cluster-status]")).to_have_text("provisioning")
    run_page = page.context.new_page()
    run_page.goto(f"/clusters/runs/{run.pk}/")
    expect(run_page.locator("[data-run-state-badge]")).to_have_text("planning")
    for p in (page, listing, run_page):
        mark_no_reload(p)

    # The plan is ready: its job succeeded and the run waits for a Platform admin.
    Job.objects.filter(pk=plan.pk).update(state=Job.SUCCEEDED, progress=100, message="awaiting approval")
    TerraformRun.objects.filter(pk=run.pk).update(state=TerraformRun.AWAITING_APPROVAL, plan_summary={
        "add": 1, "change": 0, "destroy": 0}, planned_at=plan.created_at)
    expect(run_page.locator("[data-run-state-badge]")).to_have_text("awaiting approval", timeout=LIVE)
    expect(run_page.locator("[data-job-stream] [data-job-state]")).to_have_text("awaiting approval", timeout=LIVE)
    expect(run_page.get_by_role("button", name="Approve and apply")).to_be_visible()
    expect(page.locator("#cluster-terraform")).to_contain_text(f"Run #{run.pk} is awaiting approval", timeout=LIVE)
    screenshot_page(run_page, "live-run-awaiting-approval")

    # Applied: the run succeeded and the cluster is ready, on every page that shows them.
    TerraformRun.objects.filter(pk=run.pk).update(state=TerraformRun.SUCCEEDED, finished_at=plan.created_at)
    Cluster.objects.filter(pk=cluster.pk).update(status=Cluster.READY, node_count=3, nodes_ready=3)
    expect(run_page.locator("[data-run-state-badge]")).to_have_text("succeeded", timeout=LIVE)
    expect(run_page.get_by_role("button", name="Approve and apply")).to_have_count(0)
    expect(page.locator("[data-cluster-status]")).to_have_text("ready", timeout=LIVE)
    expect(page.locator("#nodes-ready")).to_have_text("3 of 3")
    expect(page.locator("#cluster-runs [data-run-row-state]")).to_have_text("succeeded")
    expect(row.locator("[data-cluster-status]")).to_have_text("ready", timeout=LIVE)
    screenshot_page(page, "live-cluster-ready")
    for p in (page, listing, run_page):
        assert_not_reloaded(p)
