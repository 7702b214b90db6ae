"""/api/v1/users/ and /api/v1/teams/: every People action, Platform admins only, one error shape."""

import csv
import io

import pytest
from django.contrib.auth import authenticate, get_user_model

from portal.accounts import authz, roles
from portal.audit.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(users, api_for):
    return api_for(users["admin"])


def test_admin_creates_updates_deactivates_and_reactivates_a_user(admin_api, team):
    created = admin_api.post("/api/v1/users/", {"username": "quinn2", "email": "q2@example.test",
                                                "roles": [roles.QA], "teams": ["payments"]}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["roles"] == [roles.QA] and body["teams"] == ["payments"] and body["is_active"]
    password = body["credentials"]["one_time_password"]
    assert authenticate(username="quinn2", password=password) is not None
    assert created["Cache-Control"] == "no-store"

    pk = body["id"]
    patched = admin_api.patch(f"/api/v1/users/{pk}/", {"roles": [roles.DEVELOPERS], "teams": []}, format="json")
    assert patched.status_code == 200 and patched.json()["roles"] == [roles.DEVELOPERS]
    assert patched.json()["teams"] == []
    assert admin_api.post(f"/api/v1/users/{pk}/deactivate/").json()["is_active"] is False
    assert authenticate(username="quinn2", password=password) is None
    assert admin_api.post(f"/api/v1/users/{pk}/reactivate/").json()["is_active"] is True
    link = admin_api.post(f"/api/v1/users/{pk}/reset-password/", {"credentials": "link"}, format="json").json()
    assert link["credentials"]["set_password_url"].startswith("http://testserver/password/set/")
    actions = list(AuditEvent.objects.filter(object_type="auth.user", object_id=str(pk)).order_by("id")
                   .values_list("action", flat=True))
    assert actions == ["user.create", "user.update", "user.deactivate", "user.reactivate", "user.password_reset"]


def test_bad_input_is_a_400_in_the_error_shape(admin_api, users):
    bad = admin_api.post("/api/v1/users/", {"username": "has space"}, format="json")
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert error["code"] == "invalid" and "is not a valid username" in error["fields"]["username"][0]
    assert admin_api.post("/api/v1/users/", {"username": "x2", "teams": ["nope"]}, format="json").status_code == 400
    assert admin_api.post("/api/v1/users/", {"username": "x3", "roles": ["Wizards"]},
                          format="json").json()["error"]["message"].startswith("roles: Unknown role")
    myself = admin_api.post(f"/api/v1/users/{users['admin'].pk}/deactivate/")
    assert myself.status_code == 400
    assert myself.json()["error"]["message"] == "You cannot deactivate yourself."
    assert admin_api.patch("/api/v1/users/999999/", {}, format="json").status_code == 404


@pytest.mark.parametrize("who", ["developer", "qa", "manager", "outsider"])
def test_non_admins_get_403(users, api_for, who):
    client = api_for(users[who])
    assert client.get("/api/v1/users/").status_code == 403
    refused = client.post("/api/v1/users/", {"username": "sneaky"}, format="json")
    assert refused.status_code == 403
    # An account with no role is refused before anything else, with the reason.
    assert refused.json()["error"]["message"] == (
        authz.NO_ROLE if who == "outsider" else "Only Platform admins manage users and teams.")
    assert client.post(f"/api/v1/users/{users['qa'].pk}/deactivate/").status_code == 403
    assert client.post("/api/v1/teams/", {"slug": "x", "name": "X"}, format="json").status_code == 403
    assert client.get("/api/v1/teams/export/").status_code == 403
    # Teams stay readable by every role; an account with no role reads nothing.
    assert client.get("/api/v1/teams/").status_code == (403 if who == "outsider" else 200)
    assert not get_user_model().objects.filter(username="sneaky").exists()


def test_teams_create_patch_and_filters(admin_api, users):
    created = admin_api.post("/api/v1/teams/", {"slug": "search", "name": "Search", "members": ["qa"]},
                             format="json")
    assert created.status_code == 201 and created.json()["members"] == ["qa"]
    pk = created.json()["id"]
    patched = admin_api.patch(f"/api/v1/teams/{pk}/", {"members": ["qa", "developer"]}, format="json")
    assert patched.json()["members"] == ["developer", "qa"]
    slug = admin_api.patch(f"/api/v1/teams/{pk}/", {"slug": "other"}, format="json")
    assert slug.status_code == 400 and "keeps its slug" in slug.json()["error"]["message"]
    assert admin_api.post("/api/v1/teams/", {"slug": "search", "name": "Dup"}, format="json").status_code == 400
    assert [t["slug"] for t in admin_api.get("/api/v1/teams/", {"member": "developer"}).json()["results"]] == [
        "payments", "search"]
    events = AuditEvent.objects.filter(action__in=["team.create", "team.update"], team_slug="search").order_by("id")
    assert list(events.values_list("action", "outcome")) == [
        ("team.create", "success"), ("team.update", "success"), ("team.create", "failure")]


def test_user_list_filters_paginate_and_export(admin_api, users):
    UserFactory(username="zed", is_active=False)
    listed = admin_api.get("/api/v1/users/", {"role": roles.QA}).json()
    assert [u["username"] for u in listed["results"]] == ["qa"]
    assert [u["username"] for u in admin_api.get("/api/v1/users/", {"status": "inactive"}).json()["results"]] == [
        "zed"]
    assert admin_api.get("/api/v1/users/", {"page_size": 2}).json()["count"] == 6
    export = admin_api.get("/api/v1/users/export/", {"team": "payments"})
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert sorted(r["username"] for r in rows) == ["admin", "developer", "manager", "qa"]
    assert {r["roles"] for r in rows} >= {"Platform admins", "QA"}


def test_openapi_documents_the_people_endpoints(users, client):
    client.force_login(users["admin"])
    schema = client.get("/api/schema/", {"format": "json"}).json()
    for path in ("/api/v1/users/", "/api/v1/users/{id}/deactivate/", "/api/v1/users/{id}/reset-password/",
                 "/api/v1/teams/", "/api/v1/users/export/"):
        assert path in schema["paths"], path
    assert "post" in schema["paths"]["/api/v1/teams/"] and "patch" in schema["paths"]["/api/v1/users/{id}/"]
