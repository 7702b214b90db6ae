"""The sleep schedule API, twin of the pages: an environment's overview, its own schedule (PUT/PATCH,
DELETE to inherit), the defaults (list, filters, CSV, create, change, delete for Platform admins), the
sentences of refusals (400 per field, 403), audit events, and the OpenAPI document naming them all."""

from __future__ import annotations

import pytest

from environments.policies.models import StagePolicy
from environments.sleep.models import SleepSchedule
from portal.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

NIGHTS = {"sleep_cron": "0 20 * * 1-5", "wake_cron": "0 8 * * 1-5", "timezone": "Europe/Berlin"}


@pytest.fixture
def env(make_ready):
    return make_ready("api-sleep")


def url(env) -> str:
    return f"/api/v1/environments/{env.pk}/sleep-schedule/"


def test_overview_own_schedule_and_back_to_the_default(env, api_for, users, team):
    qa = api_for(users["qa"])
    SleepSchedule.objects.create(team=team, **NIGHTS)
    body = qa.get(url(env)).json()
    assert body["own"] is False and body["inherited_from"] == "Payments / every stage"
    assert body["schedule"]["sleep_cron"] == "0 20 * * 1-5" and body["awake_percent"] == 35.7
    assert body["next_sleep"] and body["next_wake"] and body["state"] is None
    response = qa.put(url(env), {"idle_hours": 6}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    # The fields not given keep the inherited values.
    assert body["own"] is True and body["schedule"]["idle_hours"] == 6 and body["schedule"]["wake_cron"] == "0 8 * * 1-5"
    assert qa.patch(url(env), {"enabled": False}, format="json").json()["schedule"]["enabled"] is False
    assert qa.delete(url(env)).json()["own"] is False
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="sleep_schedule.").order_by("pk")] == [
        "sleep_schedule.set", "sleep_schedule.set", "sleep_schedule.cleared"]


def test_bad_values_are_a_400_naming_the_field(env, api_for, users):
    qa = api_for(users["qa"])
    for body, field in (({"sleep_cron": "0 25 * * *"}, "sleep_cron"), ({"sleep_cron": "0 20 * * *",
                                                                      "timezone": "Nowhere/City"}, "timezone"),
                        ({"sleep_cron": "0 20 * * *", "idle_hours": -1}, "idle_hours"),
                        ({"idle_hours": "lots"}, "idle_hours")):
        response = qa.put(url(env), body, format="json")
        assert response.status_code == 400 and field in response.json()["error"]["fields"], (body, response.json())
    StagePolicy.objects.create(stage="qa", sleep_schedule_required=True)
    response = qa.put(url(env), {"sleep_cron": "0 20 * * *", "enabled": False}, format="json")
    assert response.status_code == 400 and "requires a sleep schedule" in response.json()["error"]["fields"]["enabled"][0]
    assert not SleepSchedule.objects.exists()


def test_who_may_read_and_change(env, api_for, users):
    assert api_for(users["manager"]).get(url(env)).status_code == 200
    assert api_for(users["manager"]).put(url(env), {"idle_hours": 1}, format="json").status_code == 403
    assert api_for(users["outsider"]).get(url(env)).status_code == 403
    assert api_for(None).get(url(env)).status_code in (401, 403)


def test_defaults_crud_filters_and_csv(api_for, users, team):
    admin, qa = api_for(users["admin"]), api_for(users["qa"])
    response = admin.post("/api/v1/sleep-schedules/", {"team": "payments", "stage": "qa", **NIGHTS}, format="json")
    assert response.status_code == 201, response.json()
    made = response.json()
    assert made["team"] == "payments" and made["awake_percent"] == 35.7
    again = admin.post("/api/v1/sleep-schedules/", {"team": "payments", "stage": "qa", **NIGHTS}, format="json")
    assert again.status_code == 400 and "already a default" in again.json()["error"]["fields"]["stage"][0]
    assert admin.post("/api/v1/sleep-schedules/", {"stage": "dev", "sleep_cron": "0 22 * * *"},
                      format="json").status_code == 201
    assert qa.post("/api/v1/sleep-schedules/", {"stage": "staging"}, format="json").status_code == 403
    listed = qa.get("/api/v1/sleep-schedules/", {"team": "none"}).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [r["stage"] for r in rows] == ["dev"]
    csv = b"".join(qa.get("/api/v1/sleep-schedules/export/", {"team": "payments"}).streaming_content).decode()
    assert len(csv.strip().splitlines()) == 2
    detail = f"/api/v1/sleep-schedules/{made['id']}/"
    assert admin.patch(detail, {"idle_hours": 2}, format="json").json()["idle_hours"] == 2
    assert qa.patch(detail, {"idle_hours": 3}, format="json").status_code == 403
    assert admin.delete(detail).status_code == 204
    assert qa.get(detail).status_code == 404
    assert AuditEvent.objects.filter(action="sleep_default.deleted").count() == 1


def test_the_openapi_document_names_every_sleep_route(api_for, users):
    schema = api_for(users["admin"]).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert set(paths["/api/v1/environments/{id}/sleep-schedule/"]) >= {"get", "put", "patch", "delete"}
    assert set(paths["/api/v1/sleep-schedules/"]) == {"get", "post"}
    assert set(paths["/api/v1/sleep-schedules/{id}/"]) == {"get", "patch", "delete"}
    assert "/api/v1/sleep-schedules/export/" in paths


def test_a_required_stage_refuses_a_schedule_that_never_sleeps(env, api_for, users):
    StagePolicy.objects.create(stage="qa", sleep_schedule_required=True)
    qa = api_for(users["qa"])
    response = qa.put(url(env), {"sleep_cron": "", "idle_hours": None, "wake_cron": ""}, format="json")
    assert response.status_code == 400 and "requires a sleep schedule" in response.json()["error"]["fields"]["sleep_cron"][0]
    assert qa.put(url(env), {"sleep_cron": "", "idle_hours": 8}, format="json").status_code == 200
    # Dropping its own schedule with no default to fall back on would leave none.
    response = qa.delete(url(env))
    assert response.status_code == 400 and "requires a sleep schedule" in response.json()["error"]["message"]
    assert SleepSchedule.objects.filter(environment=env).exists()
