"""Class 11: bad input gets the documented error, never a 500 — query parameters naming objects,
structured JSON fields, pages reading GET parameters, and actions on an unreachable cluster."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client

from clusters.models import Cluster
from environments.models import Blueprint, Environment
from environments.services import environment_create
from migrations_tool import services as copy_services
from portal.audit.actor import Actor

from ..environments.test_services import KUBECONFIG, VERSIONS


def _error(response, status=400):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()["error"]
    assert body["status"] == status and body["code"] and body["message"]
    return body


@pytest.fixture
def qa_api(users, api_for):
    return api_for(users["qa"])


@pytest.fixture
def unreachable_environment(users, team):
    """An environment on a cluster whose API server refuses connections (127.0.0.1:1)."""
    call_command("seed_demo_blueprint", verbosity=0)
    cluster = Cluster.objects.create(name="gone", kind="existing", kubeconfig=KUBECONFIG,
                                     api_server="https://127.0.0.1:1")
    environment = environment_create(actor=Actor.for_user(users["qa"]), user=users["qa"], cluster=cluster,
                                     blueprint=Blueprint.objects.get(name="shop"), name="qa-1", stage="qa", team=team,
                                     versions=dict(VERSIONS))
    Environment.objects.filter(pk=environment.pk).update(status=Environment.READY)
    environment.refresh_from_db()
    return environment


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "field"), [
    ("/api/v1/data-copies/?target=abc", "target"),
    ("/api/v1/data-copies/?target=99999999999999999999999", "target"),
    ("/api/v1/data-copies/export/?target=1x", "target"),
    ("/api/v1/data-copies/sources/?target=abc", "target"),
    ("/api/v1/data-stores/?environment=abc", "environment"),
])
def test_api_id_parameters_are_400_with_the_field(qa_api, url, field):
    body = _error(qa_api.get(url))
    assert field in body["fields"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", [
    "/environments/new/versions/?blueprint=abc",
    "/data-copies/?target=abc",
    "/data-copies/export.csv?target=abc",
])
def test_pages_reading_id_parameters_answer_400_with_the_reason(users, url):
    client = Client()
    client.force_login(users["qa"])
    response = client.get(url)
    assert response.status_code == 400
    assert b"a whole number" in response.content and b"<html" in response.content.lower()


@pytest.mark.django_db
def test_environment_pages_with_bad_ids_in_parameters(users, unreachable_environment):
    client = Client()
    client.force_login(users["qa"])
    pk = unreachable_environment.pk
    for url in (f"/environments/{pk}/compare/?with=abc", f"/environments/{pk}/promote/?source=abc"):
        response = client.get(url)
        assert response.status_code == 400, url
    response = client.get(f"/api/v1/environments/{pk}/compare/?with=abc", HTTP_ACCEPT="application/json")
    assert "with" in _error(response)["fields"]


def test_masking_rules_given_as_text_are_refused_with_the_reason():
    with pytest.raises(ValidationError) as refused:
        copy_services.validate_options(["mysql"], {"masking": "users.email"})
    assert "Masking rules are an object" in " ".join(refused.value.messages)


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["drift-check", "reconcile", "switch", "retire"])
def test_actions_on_an_unreachable_cluster_are_503_in_the_error_shape(users, api_for, unreachable_environment,
                                                                      action):
    if action in ("switch", "retire"):
        Environment.objects.filter(pk=unreachable_environment.pk).update(strategy="bluegreen", active_colour="blue")
    response = api_for(users["admin"]).post(f"/api/v1/environments/{unreachable_environment.pk}/{action}/")
    body = _error(response, 503)
    assert body["code"] == "service_unavailable"
    assert "127.0.0.1:1" in body["message"] and "refused" in body["message"]


@pytest.mark.django_db
def test_drift_check_page_on_an_unreachable_cluster_shows_the_reason(users, unreachable_environment):
    client = Client()
    client.force_login(users["admin"])
    response = client.post(f"/environments/{unreachable_environment.pk}/drift-check/", follow=True)
    assert response.status_code == 200
    assert b"cannot be reached" in response.content


@pytest.mark.django_db
def test_outside_library_errors_reaching_the_api_are_502_not_500(rf):
    from kubernetes.client.rest import ApiException

    from portal.api.errors import exception_handler

    response = exception_handler(ApiException(status=500, reason="boom"), {})
    assert response.status_code == 502 and response.data["error"]["code"] == "bad_gateway"


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/environments/?q=a%00b", "/api/v1/jobs/?state=%00",
                                 "/api/v1/data-copies/?team=%00"])
def test_nul_characters_in_query_parameters_are_a_400(qa_api, url):
    assert "NUL" in _error(qa_api.get(url))["message"]


@pytest.mark.django_db
def test_nul_characters_in_page_filters_are_a_400(users):
    client = Client()
    client.force_login(users["qa"])
    for url in ("/environments/?q=%00", "/clusters/?drift=%00", "/jobs/?state=%00"):
        assert client.get(url).status_code == 400, url


@pytest.mark.django_db
def test_log_history_without_aws_is_503_with_the_reason(users, api_for, unreachable_environment, settings,
                                                        monkeypatch):
    """No credentials and no endpoint (as in these unit tests): CloudWatch cannot be asked."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    body = _error(api_for(users["qa"]).get(f"/api/v1/environments/{unreachable_environment.pk}/logs/history/"), 503)
    assert "CloudWatch Logs" in body["message"]
    client = Client()
    client.force_login(users["qa"])
    page = client.get(f"/environments/{unreachable_environment.pk}/log-history/", {"text": "x"})
    assert page.status_code == 503 and b"CloudWatch Logs" in page.content


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{"name": "x", "slug": "a\u0000b"}, {"name": "x", "slug": "t", "\u0000": 1},
                                  {"name": "x", "slug": "t", "members": [["\u0000"]]}])
def test_nul_characters_in_api_bodies_are_a_400(users, api_for, body):
    """A slug is looked up in the database, where NUL cannot go (found by schemathesis, deep profile)."""
    client = api_for(users["admin"])
    assert "NUL" in _error(client.post("/api/v1/teams/", body, format="json"))["message"]
    assert "NUL" in _error(client.post("/api/v1/teams/", {"name": "x", "slug": "a\u0000b"}))["message"]  # multipart
