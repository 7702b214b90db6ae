"""The policies API: 4xx with the rule's sentence, 202 + a request for production, the request's actions,
policy editing with validation and before/after audit."""

from datetime import timedelta

import pytest

from environments.models import Environment, EnvironmentRequest, QuotaPolicy, StagePolicy
from portal.audit.models import AuditEvent
from tests.environments.test_services import VERSIONS


@pytest.fixture
def body(shop):
    blueprint, cluster = shop
    return {"name": "pol-api", "cluster": cluster.name, "blueprint": blueprint.pk, "team": "payments",
            "versions": VERSIONS}


def test_create_in_prod_as_developer_answers_202_with_the_request(users, api_for, body):
    response = api_for(users["developer"]).post("/api/v1/environments/", {**body, "stage": "prod"}, format="json")
    assert response.status_code == 202, response.json()
    data = response.json()
    assert (data["state"], data["name"], data["requested_by"]) == ("pending", "pol-api", "developer")
    assert response["Location"] == f"/api/v1/environment-requests/{data['id']}/"
    assert not Environment.objects.exists()
    assert AuditEvent.objects.filter(action="environment.request", outcome="success").count() == 1


def test_quota_and_ttl_refusals_are_400_with_the_sentence(users, api_for, body):
    QuotaPolicy.objects.create(team=None, max_per_team=0)
    response = api_for(users["qa"]).post("/api/v1/environments/", body, format="json")
    assert response.status_code == 400
    assert "Team payments has 0 of 0 environments; destroy one or ask a Platform admin to raise the quota." in str(
        response.json())
    QuotaPolicy.objects.all().delete()
    StagePolicy.objects.create(stage="qa", max_ttl_hours=24)
    response = api_for(users["qa"]).post("/api/v1/environments/", {**body, "ttl_hours": 48}, format="json")
    assert response.status_code == 400
    assert "live at most 24 hours" in str(response.json())
    assert not Environment.objects.exists()


def test_role_rule_is_403(users, api_for, body):
    StagePolicy.objects.create(stage="qa", allowed_roles=["QA"])
    response = api_for(users["developer"]).post("/api/v1/environments/", body, format="json")
    assert response.status_code == 403
    assert "Only QA may create environments of stage qa." in str(response.json())


def test_extend_beyond_max_is_400(users, api_for, body):
    StagePolicy.objects.create(stage="qa", max_ttl_hours=24)
    created = api_for(users["qa"]).post("/api/v1/environments/", body, format="json").json()
    response = api_for(users["qa"]).post(f"/api/v1/environments/{created['id']}/extend/", {"hours": 25},
                                         format="json")
    assert response.status_code == 400 and "extend by 24 hours or fewer" in str(response.json())


def test_request_flow_over_the_api(users, api_for, body):
    asked = api_for(users["developer"]).post("/api/v1/environment-requests/", body, format="json")
    assert asked.status_code == 202, asked.json()
    url = f"/api/v1/environment-requests/{asked.json()['id']}/"
    assert api_for(users["developer"]).post(url + "approve/").status_code == 403
    assert api_for(users["qa"]).post(url + "cancel/").status_code == 403
    refused = api_for(users["admin"]).post(url + "refuse/", {"reason": ""}, format="json")
    assert refused.status_code == 400 and "Give the reason" in str(refused.json())
    approved = api_for(users["admin"]).post(url + "approve/")
    assert approved.status_code == 200, approved.json()
    environment = Environment.objects.get(pk=approved.json()["environment"])
    assert (environment.owner, environment.stage) == (users["developer"], "prod")
    again = api_for(users["admin"]).post(url + "approve/")
    assert again.status_code == 400 and "already approved" in str(again.json())
    listed = api_for(users["manager"]).get("/api/v1/environment-requests/?state=approved").json()
    assert [r["name"] for r in listed["results"]] == ["pol-api"]
    csv = api_for(users["admin"]).get("/api/v1/environment-requests/export/")
    assert b"pol-api" in b"".join(csv.streaming_content)


def test_refuse_and_cancel_over_the_api(users, api_for, body):
    first = api_for(users["developer"]).post("/api/v1/environment-requests/", body, format="json").json()
    refused = api_for(users["admin"]).post(f"/api/v1/environment-requests/{first['id']}/refuse/",
                                           {"reason": "Not this week."}, format="json")
    assert (refused.json()["state"], refused.json()["decision_reason"]) == ("refused", "Not this week.")
    second = api_for(users["developer"]).post("/api/v1/environment-requests/", body, format="json").json()
    cancelled = api_for(users["developer"]).post(f"/api/v1/environment-requests/{second['id']}/cancel/")
    assert cancelled.json()["state"] == "cancelled"
    assert EnvironmentRequest.objects.filter(state="pending").count() == 0


def test_stage_policy_editing_validates_and_audits_before_after(users, api_for):
    assert api_for(users["qa"]).patch("/api/v1/policies/stages/qa/", {"max_ttl_hours": 5},
                                      format="json").status_code == 403
    bad = api_for(users["admin"]).patch("/api/v1/policies/stages/qa/", {"default_ttl_hours": 48, "max_ttl_hours": 24},
                                        format="json")
    assert bad.status_code == 400
    assert "The maximum (24 h) must be at least the default (48 h)." in str(bad.json())
    roles = api_for(users["admin"]).patch("/api/v1/policies/stages/qa/", {"allowed_roles": ["Wizards"]},
                                          format="json")
    assert roles.status_code == 400
    assert api_for(users["admin"]).get("/api/v1/policies/stages/nostage/").status_code == 404
    ok = api_for(users["admin"]).patch("/api/v1/policies/stages/qa/", {"default_ttl_hours": 8, "max_ttl_hours": 72,
                                                                      "allowed_roles": ["QA", "Developers"]},
                                       format="json")
    assert ok.status_code == 200, ok.json()
    assert (ok.json()["max_ttl_hours"], ok.json()["stored"]) == (72, True)
    event = AuditEvent.objects.get(action="stage_policy.update", outcome="success")
    assert event.details["changes"]["max_ttl_hours"] == {"before": None, "after": 72}
    stages = api_for(users["developer"]).get("/api/v1/policies/stages/?ordering=-stage").json()  # no ordering
    assert [s["stage"] for s in stages] == ["dev", "qa", "staging", "prod"]
    assert next(s for s in stages if s["stage"] == "prod")["requires_approval"] is True


def test_quota_editing(users, api_for, team):
    assert api_for(users["developer"]).post("/api/v1/policies/quotas/", {"max_per_team": 3},
                                            format="json").status_code == 403
    made = api_for(users["admin"]).post("/api/v1/policies/quotas/", {"team": "payments", "max_per_team": 3},
                                        format="json")
    assert made.status_code == 200, made.json()
    again = api_for(users["admin"]).post("/api/v1/policies/quotas/", {"team": "payments", "max_per_team": 4},
                                         format="json")
    assert again.json()["id"] == made.json()["id"] and QuotaPolicy.objects.get().max_per_team == 4
    assert api_for(users["admin"]).post("/api/v1/policies/quotas/", {"max_per_team": -1},
                                        format="json").status_code == 400
    patched = api_for(users["admin"]).patch(f"/api/v1/policies/quotas/{made.json()['id']}/", {"max_per_user": 2},
                                            format="json")
    assert (patched.json()["max_per_user"], patched.json()["max_per_team"], patched.json()["team"]) == (2, 4, "payments")
    assert api_for(users["qa"]).get("/api/v1/policies/quotas/").status_code == 200
    assert api_for(users["admin"]).delete(f"/api/v1/policies/quotas/{made.json()['id']}/").status_code == 204
    assert list(AuditEvent.objects.filter(action__startswith="quota_policy", outcome="success").order_by("pk")
                .values_list("action", flat=True)) == [
        "quota_policy.update", "quota_policy.update", "quota_policy.update", "quota_policy.delete"]


def test_an_omitted_ttl_is_the_stage_default_and_the_schema_says_so(users, api_for, body):
    StagePolicy.objects.create(stage="qa", default_ttl_hours=24, max_ttl_hours=72)
    created = api_for(users["qa"]).post("/api/v1/environments/", body, format="json")
    assert created.status_code == 201, created.json()
    environment = Environment.objects.get(pk=created.json()["id"])
    assert abs(environment.expires_at - environment.created_at - timedelta(hours=24)) < timedelta(minutes=1)
    schema = api_for(users["qa"]).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for component in ("EnvironmentCreateRequest", "EnvironmentRequestCreateRequest", "CloneRequest"):
        described = schema["components"]["schemas"][component]["properties"]["ttl_hours"]["description"]
        assert described.startswith("hours until the environment expires. Omitted or null: the stage's default "
                                     "expiry from its policy"), component
    assert "the stage's default" in schema["components"]["schemas"]["EnvironmentRequest"]["properties"]["ttl_hours"][
        "description"]
