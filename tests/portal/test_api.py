import subprocess
import sys
from pathlib import Path

import pytest

from portal.accounts.models import ApiToken
from portal.audit.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_unauthenticated_gets_the_error_envelope(api_for):
    response = api_for(None).get("/api/v1/jobs/")
    assert response.status_code == 401
    assert response.json() == {"error": {"status": response.status_code, "code": "not_authenticated",
                                         "message": "Authentication credentials were not provided."}}


@pytest.mark.django_db
def test_token_authentication(users, client):
    response = client.post("/api/v1/auth/token/", {"username": "developer", "password": "pw-for-tests-1"})
    assert response.status_code == 201
    token = response.json()["token"]
    stored = ApiToken.objects.get(user=users["developer"])
    assert token not in str(ApiToken.objects.values().get())  # only the digest is stored
    assert stored.prefix == token[4:12]
    assert AuditEvent.objects.filter(action="api_token.create", actor_name="developer").exists()
    me = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}")
    assert me.status_code == 200
    assert me.json()["username"] == "developer"
    assert me.json()["roles"] == ["Developers"]
    assert me.json()["teams"] == [{"id": users["developer"].teams.get().pk, "slug": "payments", "name": "Payments"}]
    bad = client.get("/api/v1/me/", HTTP_AUTHORIZATION="Token not-a-token")
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "authentication_failed"


@pytest.mark.django_db
def test_validation_and_not_found_use_one_format(users, api_for):
    client = api_for(users["developer"])
    missing = client.get("/api/v1/jobs/00000000-0000-0000-0000-000000000000/")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    forbidden = client.post("/api/v1/jobs/selfcheck/")
    assert forbidden.status_code == 403
    assert forbidden.json()["error"] == {"status": 403, "code": "permission_denied",
                                         "message": "Only Platform admins can run the self-check."}
    bad_token = api_for(None).post("/api/v1/auth/token/", {"username": "developer"}, format="json")
    assert bad_token.status_code == 400
    body = bad_token.json()["error"]
    assert body["code"] == "invalid" and body["fields"] == {"password": ["This field is required."]}
    assert body["message"] == "password: This field is required."
    unknown = api_for(users["developer"]).get("/api/v1/no-such-thing/")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_pagination_and_filtering(users, api_for):
    from tests.factories import JobFactory

    for n in range(7):
        JobFactory(started_by=users["developer"], state="failed" if n % 2 else "succeeded")
    client = api_for(users["developer"])
    page = client.get("/api/v1/jobs/", {"page_size": 3})
    assert page.json()["count"] == 7 and len(page.json()["results"]) == 3 and page.json()["next"]
    assert client.get("/api/v1/jobs/", {"state": "failed"}).json()["count"] == 3


@pytest.mark.django_db
def test_schema_and_docs_are_served(users, client):
    client.force_login(users["developer"])
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/jobs/", "/api/v1/audit-events/", "/api/v1/audit-events/export/", "/api/v1/me/"} <= set(paths)
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content
    assert b"cdn.jsdelivr" not in docs.content  # served from the sidecar package, no CDN


def test_spectacular_validate_fail_on_warn(tmp_path):
    result = subprocess.run([sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn",
                             "--file", str(tmp_path / "schema.yaml")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "openapi: 3" in (tmp_path / "schema.yaml").read_text()
