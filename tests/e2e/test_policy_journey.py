"""Browser journey (issue 17, policies): a developer asks for a production environment with the New
environment form (the notice says it needs approval), sees "waiting for approval"; a Platform admin finds it
in the requests queue and approves it; the developer's request page shows the created environment by itself
(no reload), and the environment was rolled out for real on the stack's local control plane, owned by the
developer. The admin also reads the Policies page.

The expiry field of the New environment form follows the chosen stage: its default, its maximum as the
hint, a value the person typed kept; more than the maximum is refused with the policy's sentence on the field.
"""

from __future__ import annotations

import re
import uuid

import pytest
from kubernetes import client as k8s
from playwright.sync_api import Page, expect

from clusters.models import Cluster
from environments.models import Environment, EnvironmentRequest, StagePolicy
from portal.accounts import roles
from portal.audit.models import AuditEvent
from tests.factories import TeamFactory, UserFactory

from .accessibility import check_final_state, install_axe
from .conftest import VIEWPORT
from .support import ARTIFACTS, log_in
from .test_environment_journey import (  # noqa: F401  (the fixtures)
    PICKED,
    ROLLOUT,
    local_cluster,
    namespaces_to_delete,
    pick_blueprint_and_versions,
)
from .test_live_status_journey import assert_not_reloaded, mark_no_reload

pytestmark = pytest.mark.e2e
LIVE = 30_000  # ms: the request page refreshes its live region (2 s, backing off to 10 s)


def test_a_developer_asks_for_production_and_an_admin_approves(
        page: Page, screenshot, local_cluster: Cluster, kube_client: k8s.ApiClient,  # noqa: F811
        namespaces_to_delete: list[str], live_asgi_server) -> None:  # noqa: F811
    team = TeamFactory(slug="payments", name="Payments")
    developer = UserFactory(username="pol-devi", roles=[roles.DEVELOPERS], teams=[team])
    UserFactory(username="pol-ada", roles=[roles.PLATFORM_ADMINS], teams=[team])
    name = f"e2e-pol-{uuid.uuid4().hex[:6]}"
    namespaces_to_delete.append(f"slw-{name}")

    # The developer asks: choosing production swaps in the notice that it needs approval.
    log_in(page, "pol-devi")
    page.goto("/environments/new/")
    page.get_by_label("Name", exact=True).fill(name)
    pick_blueprint_and_versions(page, PICKED)
    page.get_by_label("Team", exact=True).select_option("payments")
    expect(page.locator("[data-policy-approval]")).to_have_count(0)
    page.get_by_label("Stage", exact=True).select_option("prod")
    expect(page.locator("[data-policy-approval]")).to_contain_text("need a Platform admin's approval")
    screenshot("policy-new-environment-prod-notice")
    page.get_by_role("button", name="Create environment").click()
    expect(page).to_have_url(re.compile(r"/environments/requests/\d+/$"))
    expect(page.get_by_role("status")).to_contain_text(f"Your request for {name} is waiting for approval")
    expect(page.locator("#request-state [data-status]")).to_have_text("waiting for approval")
    expect(page.locator("[data-request-waiting]")).to_be_visible()
    asked = EnvironmentRequest.objects.get(name=name)
    assert not Environment.objects.filter(name=name).exists()
    screenshot("policy-request-waiting")
    mark_no_reload(page)

    # A Platform admin, in a browser of their own, approves it from the queue.
    context = page.context.browser.new_context(base_url=live_asgi_server.url, viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    findings = install_axe(context)
    admin = context.new_page()
    try:
        log_in(admin, "pol-ada")
        admin.get_by_role("link", name="Policies").click()
        expect(admin.get_by_role("heading", name="Policies", level=1)).to_be_visible()
        expect(admin.locator('tr[data-stage="prod"]')).to_contain_text("needs approval")
        expect(admin.get_by_text("1 waiting for approval")).to_be_visible()
        admin.screenshot(path=str(ARTIFACTS / "policy-policies-page.png"), full_page=True)
        admin.get_by_role("link", name="Requests for environments").click()
        admin.get_by_label("State").select_option("pending")
        admin.get_by_role("button", name="Filter").click()
        row = admin.locator(f'tr[data-request="{name}"]')
        expect(row).to_contain_text("waiting for approval")
        expect(row).to_contain_text("pol-devi")
        admin.screenshot(path=str(ARTIFACTS / "policy-requests-queue.png"), full_page=True)
        row.get_by_role("link").click()
        expect(admin.get_by_role("heading", name=f"Request for {name}", level=1)).to_be_visible()
        admin.get_by_role("button", name="Approve and create").click(timeout=ROLLOUT)
        expect(admin.get_by_role("status")).to_contain_text(f"Approved: {name} is being created.", timeout=ROLLOUT)
        expect(admin.locator("[data-request-environment]")).to_have_text(name)
        admin.screenshot(path=str(ARTIFACTS / "policy-request-approved-admin.png"), full_page=True)
        check_final_state(admin)
        assert not findings.failures, findings.report()
    finally:
        context.close()

    # The developer's page follows by itself: approved, with a link to the new environment.
    expect(page.locator("#request-state [data-status]")).to_have_text("approved", timeout=LIVE)
    expect(page.locator("[data-request-environment]")).to_have_text(name)
    assert_not_reloaded(page)
    screenshot("policy-request-approved")
    page.locator("[data-request-environment]").click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    expect(page.locator("[data-environment-status]")).to_have_text("ready", timeout=ROLLOUT)
    screenshot("policy-environment-created")

    environment = Environment.objects.get(name=name)
    asked.refresh_from_db()
    assert (asked.state, asked.environment_id, asked.decided_by.username) == ("approved", environment.pk, "pol-ada")
    assert (environment.owner, environment.stage, environment.status) == (developer, "prod", "ready")
    assert list(AuditEvent.objects.filter(action__in=["environment.request", "environment_request.approve"])
                .order_by("pk").values_list("action", "outcome")) == [
        ("environment.request", "success"), ("environment_request.approve", "success")]


def test_an_admin_sets_limits_and_a_developer_meets_them(page: Page, screenshot, local_cluster: Cluster  # noqa: F811
                                                         ) -> None:
    team = TeamFactory(slug="payments", name="Payments")
    UserFactory(username="pol-devi", roles=[roles.DEVELOPERS], teams=[team])
    UserFactory(username="pol-ada", roles=[roles.PLATFORM_ADMINS], teams=[team])

    # The admin edits the qa stage: a maximum under the default is refused on its field, then fixed.
    log_in(page, "pol-ada")
    page.goto("/environments/policies/")
    page.get_by_role("link", name="Edit the policy of qa").click()
    expect(page.get_by_role("heading", name="Policy of stage qa", level=1)).to_be_visible()
    page.get_by_label("Default expiry (hours)").fill("24")
    page.get_by_label("Longest expiry (hours)").fill("12")
    page.get_by_label("Activity extends the expiry").check()
    page.get_by_role("button", name="Save policy").click()
    expect(page.locator("#id_max_ttl_hours_error")).to_have_text(
        "The maximum (12 h) must be at least the default (24 h).")
    screenshot("policy-stage-form-refused")
    page.get_by_label("Longest expiry (hours)").fill("72")
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_role("status")).to_contain_text("Policy of stage qa saved.")
    expect(page.locator('tr[data-stage="qa"]')).to_contain_text("72 h")
    # A quota of 0 for the team: nobody of payments may create any more.
    page.get_by_label("Team", exact=True).select_option("payments")
    page.get_by_label("Per team").fill("0")
    page.get_by_role("button", name="Save quota").click()
    expect(page.get_by_role("status")).to_contain_text("Quota of payments saved.")
    expect(page.locator('tr[data-quota="payments"]')).to_contain_text("0")
    screenshot("policy-policies-edited")
    assert AuditEvent.objects.filter(action="stage_policy.update", outcome="success").count() == 1

    # The developer sees the limits on the form, and the refusal as the form's error; nothing is created.
    page.get_by_role("button", name="Log out").click()
    log_in(page, "pol-devi")
    page.goto("/environments/new/")
    page.get_by_label("Name", exact=True).fill("e2e-pol-refused")
    page.get_by_label("Team", exact=True).select_option("payments")
    notice = page.locator("#policy-notice")
    expect(page.get_by_label("Expires after (hours)")).to_have_value("24")
    expect(page.locator("[data-ttl-hint]")).to_have_text("Empty: stage qa's default, 24 h. At most 72 h in qa.")
    expect(notice).to_contain_text("Team payments: 0 of 0 environments.")
    page.get_by_role("button", name="Create environment").click()
    expect(page.locator(".flash-error")).to_contain_text(
        "Team payments has 0 of 0 environments; destroy one or ask a Platform admin to raise the quota.")
    screenshot("policy-new-environment-refused")
    assert not Environment.objects.filter(name="e2e-pol-refused").exists()


def test_the_expiry_follows_the_stage_and_keeps_what_the_person_typed(page: Page, screenshot,
                                                                      local_cluster: Cluster  # noqa: F811
                                                                      ) -> None:
    team = TeamFactory(slug="payments", name="Payments")
    UserFactory(username="pol-devi", roles=[roles.DEVELOPERS], teams=[team])
    StagePolicy.objects.create(stage="dev", default_ttl_hours=24, max_ttl_hours=72)
    StagePolicy.objects.create(stage="staging", default_ttl_hours=8, max_ttl_hours=24)
    log_in(page, "pol-devi")
    page.goto("/environments/new/")
    name, stage = page.get_by_label("Name", exact=True), page.get_by_label("Stage", exact=True)
    expires, hint = page.get_by_label("Expires after (hours)"), page.locator("[data-ttl-hint]")
    # qa has no policy: the form suggests 48 h, and says what an empty field would mean.
    expect(expires).to_have_value("48")
    expect(hint).to_have_text("Empty: never expires (stage qa sets no default).")
    name.fill("e2e-pol-ttl")
    page.get_by_label("Team", exact=True).select_option("payments")

    # A stage with a default of 24 h: the field shows it, the hint its maximum; the name stays as typed.
    stage.select_option("dev")
    expect(expires).to_have_value("24")
    expect(hint).to_have_text("Empty: stage dev's default, 24 h. At most 72 h in dev.")
    expect(page.locator("#ttl-field")).to_have_attribute("aria-live", "polite")  # the new hint is read out
    expect(name).to_have_value("e2e-pol-ttl")
    expect(page.locator("#cost-forecast [data-forecast]")).to_be_visible()
    screenshot("policy-new-environment-expiry-dev")
    stage.select_option("staging")
    expect(expires).to_have_value("8")
    expect(hint).to_have_text("Empty: stage staging's default, 8 h. At most 24 h in staging.")
    expect(expires).to_have_attribute("aria-describedby", "id_ttl_hours_helptext")

    # What the person typed stays through a change of stage; so does an emptied field (the stage's default).
    expires.fill("100")
    stage.select_option("dev")
    expect(hint).to_have_text("Empty: stage dev's default, 24 h. At most 72 h in dev.")
    expect(expires).to_have_value("100")
    expires.fill("")
    stage.select_option("staging")
    expect(hint).to_contain_text("staging's default, 8 h")
    expect(expires).to_have_value("")
    stage.select_option("dev")
    expect(hint).to_contain_text("dev's default, 24 h")
    expect(expires).to_have_value("")

    # More than the stage allows: the policy's sentence on the field, the value kept, nothing created.
    expires.fill("100")
    page.get_by_role("button", name="Create environment").click()
    expect(page.locator("#id_ttl_hours_error")).to_have_text(
        "Environments of stage dev live at most 72 hours; choose 72 or fewer.")
    expect(expires).to_have_value("100")
    expect(expires).to_have_attribute("aria-describedby", "id_ttl_hours_helptext id_ttl_hours_error")
    expect(stage).to_have_value("dev")
    expect(page.locator("#cost-forecast [data-forecast]")).to_be_visible()  # the page is whole before its picture
    screenshot("policy-new-environment-expiry-refused")
    assert not Environment.objects.filter(name="e2e-pol-ttl").exists()
