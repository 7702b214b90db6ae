"""Cluster registration, health and detail through the API and the pages (real local control plane)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from clusters.models import Cluster
from clusters.tasks import health_check_all
from environments.models import Blueprint, Environment
from portal.audit.models import AuditEvent

from .conftest import stack_cluster, wait_until_rbac_sees_the_binding

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_only_platform_admins_register(users, api_for, client):
    for role in ("developer", "qa", "manager"):
        response = api_for(users[role]).post("/api/v1/clusters/register/", {"name": "x", "kubeconfig": "a: b"},
                                             format="json")
        assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
        client.force_login(users[role])
        assert client.get("/clusters/register/").status_code == 403
    assert not Cluster.objects.exists()


def test_api_registers_by_kubeconfig_without_echoing_credentials(users, api_for, kubeconfig_path,
                                                                 django_capture_on_commit_callbacks):
    text = Path(kubeconfig_path).read_text()
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(users["admin"]).post("/api/v1/clusters/register/", {"name": "stack", "kubeconfig": text},
                                                format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "existing" and body["server_version"].startswith("v1.33")
    assert "kubeconfig" not in body and "client-key-data" not in response.content.decode()
    detail = api_for(users["developer"]).get(f"/api/v1/clusters/{body['id']}/").json()
    assert detail["status"] == "ready" and detail["nodes_ready"] == detail["node_count"] > 0
    assert detail["allocatable_cpu_millicores"] > 0


def test_api_lists_missing_permissions_in_the_error_envelope(users, api_for, kubeconfig_path, restricted_token):
    target = stack_cluster(kubeconfig_path)
    wait_until_rbac_sees_the_binding(target["server"], target["ca_data"], restricted_token)
    response = api_for(users["admin"]).post("/api/v1/clusters/register/", {
        "name": "restricted", "server": target["server"], "ca_data": target["ca_data"], "token": restricted_token,
    }, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert "create namespaces" in error["fields"]["missing_permissions"]
    assert "lack" in error["fields"]["token"][0]
    assert restricted_token not in response.content.decode()
    assert not Cluster.objects.exists()


def test_register_form_refuses_an_unreachable_endpoint_and_never_echoes_the_token(users, client):
    client.force_login(users["admin"])
    response = client.post("/clusters/register/", {"name": "gone", "server": "https://127.0.0.1:1",
                                                   "token": "secret-token-value-123"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "cannot be reached: connection refused" in page and "secret-token-value-123" not in page
    assert not Cluster.objects.exists()
    assert AuditEvent.objects.get(action="cluster.register").outcome == "failure"


def test_register_form_accepts_an_uploaded_kubeconfig_and_the_page_shows_health_and_environments(
        users, client, kubeconfig_path, team, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(users["admin"])
    upload = SimpleUploadedFile("config", Path(kubeconfig_path).read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/clusters/register/", {"name": "stack", "kubeconfig_file": upload})
    assert response.status_code == 302, response.content.decode()[-2000:]
    cluster = Cluster.objects.get(name="stack")
    blueprint = Blueprint.objects.create(name="shop")
    Environment.objects.create(name="qa-7", cluster=cluster, namespace="qa-7", blueprint=blueprint, team=team,
                               owner=users["developer"], status=Environment.READY)
    Environment.objects.create(name="old", cluster=cluster, namespace="old", blueprint=blueprint, team=team,
                               status=Environment.DESTROYED)
    client.force_login(users["manager"])
    page = client.get(response["Location"]).content.decode()
    assert f"{cluster.nodes_ready} of {cluster.node_count}" in page
    assert f"{cluster.allocatable_cpu_millicores // 1000} cores" in page
    assert cluster.server_version in page and "qa-7" in page and ">old<" not in page
    assert "Check now" not in page  # managers read only
    listing = client.get("/clusters/").content.decode()
    assert f"{cluster.nodes_ready}/{cluster.node_count}" in listing


def test_periodic_health_check_marks_unreachable_and_ready_clusters(users, kubeconfig_path):
    from clusters.kube.client import kubeconfig_from_token

    Cluster.objects.create(name="stack", kind=Cluster.EXISTING, kubeconfig=Path(kubeconfig_path).read_text())
    Cluster.objects.create(name="gone", kind=Cluster.EXISTING, api_server="https://127.0.0.1:1",
                           kubeconfig=kubeconfig_from_token(server="https://127.0.0.1:1", token="t"))
    Cluster.objects.create(name="no-credentials", kind=Cluster.EXISTING)
    assert health_check_all() == {"stack": "ready", "gone": "unreachable"}
    gone = Cluster.objects.get(name="gone")
    assert gone.status_message == "The API server at https://127.0.0.1:1 cannot be reached: connection refused."
    assert settings.CELERY_BEAT_SCHEDULE["clusters-health"]["task"] == "clusters.health_check_all"
