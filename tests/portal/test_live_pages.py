"""Every page that shows a job's object marks its state-dependent parts as live regions, with one badge
(issue 13, points 3 and 6). What the regions do in a browser: tests/e2e/test_live_status_journey.py."""

import re

import pytest
from django.core.management import call_command

from clusters.models import Cluster, TerraformRun
from environments.models import Blueprint
from environments.services import environment_create
from portal.audit.actor import Actor
from portal.jobs.models import Job

from ..environments.test_services import KUBECONFIG, VERSIONS


def regions(html: str) -> set[str]:
    return set(re.findall(r'id="([\w-]+)"[^>]*data-live-region', html))


@pytest.fixture
def environment(users, team):
    call_command("seed_demo_blueprint", verbosity=0)
    cluster = Cluster.objects.create(name="local", kind="local", kubeconfig=KUBECONFIG, is_default=True)
    return environment_create(actor=Actor.for_user(users["qa"]), user=users["qa"], cluster=cluster,
                              blueprint=Blueprint.objects.get(name="shop"), name="qa-1", stage="qa", team=team,
                              versions=dict(VERSIONS))


def test_environment_pages_have_live_regions_and_one_badge(users, environment, client):
    client.force_login(users["qa"])
    detail = client.get(f"/environments/{environment.pk}/").content.decode()
    assert {"env-heading", "env-status-message", "env-job-title", "env-job", "env-live", "env-actions",
            "env-drift", "env-revisions"} <= regions(detail)
    # Pending is transitional: the page keeps refreshing; the queued job's panel comes before the facts.
    assert '<span class="badge badge-running" data-status="pending" data-live-transitional>pending</span>' in detail
    assert detail.index("data-job-stream") < detail.index("<h2>Facts</h2>")
    assert 'data-live-version="' + str(environment.rollouts.get().job.pk) + '"' in detail
    assert "datacopy-rows" in regions(client.get("/data-copies/").content.decode())
    for url, region in (("/environments/", "environment-rows"), ("/", "dashboard-environments"),
                        ("/", "dashboard-jobs"), ("/jobs/", "job-rows")):
        html = client.get(url).content.decode()
        assert region in regions(html), url
        assert 'data-status="pending"' in html or 'data-status="queued"' in html, url
    # A live refresh must not eat a flash message meant for the next page the user opens.
    client.post(f"/environments/{environment.pk}/extend/", {"hours": "2"})
    refresh = client.get(f"/environments/{environment.pk}/", HTTP_X_SLIPWAY_LIVE="1").content.decode()
    assert "Expiry extended" not in refresh
    assert "Expiry extended by 2 h." in client.get(f"/environments/{environment.pk}/").content.decode()


def test_a_destroyed_environment_page_still_answers_and_offers_no_actions(users, environment, client):
    environment.status = "destroyed"
    environment.save(update_fields=["status"])
    client.force_login(users["qa"])
    page = client.get(f"/environments/{environment.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert ">destroyed</span>" in html and "Nothing runs: the environment was destroyed." in html
    for action in ("Roll out new revision", "Destroy environment", "Check drift now", ">Logs<"):
        assert action not in html
    assert b"qa-1" not in client.get("/environments/").content  # lists show live environments only


def test_a_plan_awaiting_approval_is_labelled_so_on_the_run_and_cluster_pages(users, client):
    cluster = Cluster.objects.create(name="tf", kind="local")
    job = Job.objects.create(kind="terraform-plan", title="Plan tf", state=Job.SUCCEEDED, progress=100,
                             message="awaiting approval")
    run = TerraformRun.objects.create(cluster=cluster, action=TerraformRun.APPLY, plan_job=job,
                                      state=TerraformRun.AWAITING_APPROVAL)
    client.force_login(users["admin"])
    html = client.get(f"/clusters/runs/{run.pk}/").content.decode()
    assert {"run-summary", "run-job", "run-plan-link"} <= regions(html)
    stream = html[html.index("data-job-stream"):]
    state = re.search(r"<span [^>]*data-job-state[^>]*>([^<]*)</span>", stream)
    assert state.group(1) == "awaiting approval" and "badge-warning" in state.group(0)
    assert ">succeeded<" not in html
    summary = html[html.index('id="run-summary"'):]
    assert '<span class="badge badge-warning" data-status="awaiting_approval" data-live-transitional>' \
           'awaiting approval</span>' in summary
    detail = client.get(f"/clusters/{cluster.pk}/").content.decode()
    assert {"cluster-heading", "cluster-health", "cluster-environments"} <= regions(detail)
    assert "cluster-rows" in regions(client.get("/clusters/").content.decode())
    # Job pages say it too: the list, the dashboard's recent jobs and the plan job's own page.
    for url in ("/jobs/", "/", f"/jobs/{job.pk}/"):
        html = client.get(url).content.decode()
        assert 'data-status="awaiting_approval"' in html and ">awaiting approval</span>" in html, url
        assert ">succeeded</span>" not in html, url
    # Once the run moves on, the plan job is simply succeeded again.
    TerraformRun.objects.filter(pk=run.pk).update(state=TerraformRun.SUCCEEDED)
    assert ">succeeded</span>" in client.get("/jobs/").content.decode()
