"""Policy pages: refusals as form errors on the New environment page, production asked for instead of
created, the notice of the stage's limits, the Policies page, the queue, a request's page."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from environments.models import Environment, EnvironmentRequest, QuotaPolicy, StagePolicy
from portal.audit.models import AuditEvent
from tests.environments.test_services import VERSIONS


@pytest.fixture
def form(shop):
    blueprint, cluster = shop
    return {"name": "pol-page", "cluster": cluster.name, "blueprint": blueprint.pk, "team": "payments", "stage": "qa",
            "strategy": "rolling", "ttl_hours": "24", **{f"version-{n}": t for n, t in VERSIONS.items()}}


def test_quota_refusal_is_a_form_error_and_nothing_is_created(client, users, form):
    QuotaPolicy.objects.create(team=None, max_per_team=0)
    client.force_login(users["qa"])
    response = client.post("/environments/new/", form)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Team payments has 0 of 0 environments; destroy one or ask a Platform admin to raise the quota." in html
    assert "Team payments: 0 of 0 environments." in html  # the notice shows the quota too
    assert not Environment.objects.exists()


def test_ttl_over_the_stage_max_is_an_error_on_its_field(client, users, form):
    StagePolicy.objects.create(stage="qa", max_ttl_hours=12)
    client.force_login(users["qa"])
    html = client.post("/environments/new/", form).content.decode()
    assert 'id="id_ttl_hours_error">Environments of stage qa live at most 12 hours; choose 12 or fewer.' in html


def test_developer_asks_for_production_from_the_form(client, users, form):
    client.force_login(users["developer"])
    page = client.get("/environments/new/").content.decode()
    assert '<option value="prod"' in page  # offered: it needs approval
    response = client.post("/environments/new/", {**form, "stage": "prod"})
    asked = EnvironmentRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/environments/requests/{asked.pk}/"
    assert not Environment.objects.exists()
    html = client.get(response["Location"]).content.decode()
    assert "Waiting for approval by a Platform admin." in html and "data-live-transitional" in html
    assert "Cancel my request" in html and "Approve and create" not in html


def test_production_is_not_offered_when_it_needs_no_approval(client, users):
    StagePolicy.objects.create(stage="prod", requires_approval=False)
    client.force_login(users["developer"])
    assert '<option value="prod"' not in client.get("/environments/new/").content.decode()


def test_the_notice_follows_the_stage(client, users):
    client.force_login(users["developer"])
    html = client.get("/environments/policies/notice/?stage=prod&team=payments").content.decode()
    assert "data-policy-approval" in html and "sending this form makes a request" in html
    assert "approval" not in client.get("/environments/policies/notice/?stage=qa&team=payments").content.decode()


def test_admin_approves_on_the_request_page(client, users, form):
    client.force_login(users["developer"])
    client.post("/environments/new/", {**form, "stage": "prod"})
    asked = EnvironmentRequest.objects.get()
    client.force_login(users["admin"])
    queue = client.get("/environments/requests/?state=pending").content.decode()
    assert f'href="/environments/requests/{asked.pk}/"' in queue
    refused = client.post(f"/environments/requests/{asked.pk}/refuse/", {"reason": ""})
    assert refused.status_code == 400 and "This field is required." in refused.content.decode()
    response = client.post(f"/environments/requests/{asked.pk}/approve/", follow=True)
    html = response.content.decode()
    environment = Environment.objects.get()
    assert f"Approved: {asked.name} is being created." in html
    assert f'href="/environments/{environment.pk}/" data-request-environment' in html
    assert AuditEvent.objects.filter(action="environment_request.approve", outcome="success").exists()


def test_policies_page_read_by_all_edited_by_admins(client, users):
    client.force_login(users["qa"])
    html = client.get("/environments/policies/").content.decode()
    assert "needs approval" in html and "Set a quota" not in html
    assert client.get("/environments/policies/stages/qa/").status_code == 403
    client.force_login(users["admin"])
    bad = client.post("/environments/policies/stages/qa/", {"default_ttl_hours": "48", "max_ttl_hours": "24"})
    assert bad.status_code == 400
    assert "The maximum (24 h) must be at least the default (48 h)." in bad.content.decode()
    saved = client.post("/environments/policies/stages/qa/", {"default_ttl_hours": "8", "max_ttl_hours": "48",
                                                             "allowed_roles": ["QA"], "sleep_schedule_required": "on"})
    assert saved.status_code == 302
    policy = StagePolicy.objects.get(stage="qa")
    assert (policy.max_ttl_hours, policy.allowed_roles, policy.sleep_schedule_required) == (48, ["QA"], True)
    assert client.post("/environments/policies/quotas/", {"team": "payments", "max_per_team": "5"}).status_code == 302
    assert QuotaPolicy.objects.get(team__slug="payments").max_per_team == 5
    html = client.get("/environments/policies/").content.decode()
    assert 'data-quota="payments"' in html and "Set a quota" in html


def _ttl_input(html: str) -> str:
    return re.search(r'<input type="number" name="ttl_hours"[^>]*>', html).group(0)


def test_the_expiry_field_shows_the_stage_default_and_its_maximum(client, users, shop):
    StagePolicy.objects.create(stage="qa", default_ttl_hours=24, max_ttl_hours=72)
    client.force_login(users["qa"])
    html = client.get("/environments/new/").content.decode()
    field = _ttl_input(html)
    assert 'value="24"' in field and 'aria-describedby="id_ttl_hours_helptext"' in field
    assert 'id="id_ttl_hours_helptext" data-ttl-hint>Empty: stage qa&#x27;s default, 24 h. At most 72 h in qa.' in html
    assert '<input type="hidden" name="ttl_suggested" value="24">' in html
    assert 'hx-get="/environments/new/ttl/" hx-trigger="change from:#id_stage"' in html


def test_a_stage_without_a_default_keeps_the_forms_suggestion_and_says_empty_never_expires(client, users, shop):
    client.force_login(users["qa"])
    html = client.get("/environments/new/").content.decode()
    assert 'value="48"' in _ttl_input(html)
    assert "Empty: never expires (stage qa sets no default)." in html
    StagePolicy.objects.create(stage="qa", max_ttl_hours=12)  # no default: empty gives the maximum
    html = client.get("/environments/new/").content.decode()
    assert 'value="12"' in _ttl_input(html) and "Empty: stage qa&#x27;s default, 12 h. At most 12 h in qa." in html


@pytest.mark.parametrize(("typed", "shown"), [
    ("24", "8"),    # the form's suggestion for qa: follows the new stage's default
    ("30", "30"),   # typed by the person: stays
    ("", None),     # cleared: stays empty, which means the stage's default
])
def test_the_expiry_follows_the_stage_unless_the_person_typed_one(client, users, shop, typed, shown):
    StagePolicy.objects.create(stage="qa", default_ttl_hours=24, max_ttl_hours=72)
    StagePolicy.objects.create(stage="dev", default_ttl_hours=8, max_ttl_hours=24)
    client.force_login(users["developer"])
    html = client.get(f"/environments/new/ttl/?stage=dev&ttl_hours={typed}&ttl_suggested=24").content.decode()
    field = _ttl_input(html)
    assert (f'value="{shown}"' in field) if shown else "value=" not in field
    assert "Empty: stage dev&#x27;s default, 8 h. At most 24 h in dev." in html
    assert '<input type="hidden" name="ttl_suggested" value="8">' in html
    assert "<form" not in html and 'id="ttl-field"' not in html  # only the inside of the box is swapped


def test_an_empty_expiry_gives_the_stage_default(client, users, form):
    StagePolicy.objects.create(stage="qa", default_ttl_hours=24, max_ttl_hours=72)
    client.force_login(users["qa"])
    response = client.post("/environments/new/", {**form, "ttl_hours": ""})
    assert response.status_code == 302
    environment = Environment.objects.get()
    assert abs(environment.expires_at - timezone.now() - timedelta(hours=24)) < timedelta(minutes=1)


def test_an_expiry_over_the_maximum_keeps_the_value_and_describes_the_field_by_the_sentence(client, users, form):
    StagePolicy.objects.create(stage="qa", default_ttl_hours=24, max_ttl_hours=72)
    client.force_login(users["qa"])
    html = client.post("/environments/new/", {**form, "ttl_hours": "100", "ttl_suggested": "24"}).content.decode()
    field = _ttl_input(html)
    assert 'value="100"' in field and 'aria-describedby="id_ttl_hours_helptext id_ttl_hours_error"' in field
    assert 'id="id_ttl_hours_error">Environments of stage qa live at most 72 hours; choose 72 or fewer.' in html
    assert not Environment.objects.exists()
