"""The catalog API: roles, audit, validation, pagination/filters/CSV, blueprint versions and YAML import."""

import json

import pytest
import yaml
from django.db import connection

from environments import documents
from environments.models import Blueprint, Component, ImageVersion, Registry
from portal.audit.models import AuditEvent
from tests.environments import test_services
from tests.fixtures.image_registry import ecr_push

shop = test_services.shop
DIGEST = "sha256:" + "ab" * 32


def test_every_role_reads_the_catalog_and_lists_paginate_and_filter(users, shop, api_for):
    for n in range(55):
        ImageVersion.objects.create(component=Component.objects.get(name="web"), tag=f"0.0.{n}")
    client = api_for(users["manager"])
    page = client.get("/api/v1/image-versions/", {"component": "web"}).json()
    assert page["count"] == 58 and len(page["results"]) == 50
    assert client.get("/api/v1/image-versions/", {"component": "web", "page": 2}).json()["results"]
    assert client.get("/api/v1/image-versions/", {"tag": "2.1"}).json()["count"] == 2  # api and worker
    assert [c["name"] for c in client.get("/api/v1/components/", {"q": "shop/w"}).json()["results"]] == [
        "web", "worker"]
    assert client.get("/api/v1/blueprints/").json()["results"][0]["components"] == ["api", "web", "worker"]


def test_list_apis_keep_a_fixed_number_of_queries(users, shop, api_for, django_assert_max_num_queries):
    for n in range(20):
        Component.objects.create(name=f"extra-{n}", image_repository=f"registry.example.com/x/{n}")
        ImageVersion.objects.create(component=Component.objects.get(name=f"extra-{n}"), tag="1.0")
    client = api_for(users["manager"])
    for url in ("/api/v1/components/", "/api/v1/image-versions/", "/api/v1/blueprints/", "/api/v1/registries/"):
        with django_assert_max_num_queries(8):
            assert client.get(url).status_code == 200, url
    assert client.get("/api/v1/components/", {"q": "extra-1"}).json()["results"][0]["versions_count"] == 1


def test_csv_export_follows_the_filters(users, shop, api_for):
    response = api_for(users["qa"]).get("/api/v1/image-versions/export/", {"component": "api"})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("component,tag,digest,pushed_at") and len(lines) == 3
    assert all(line.startswith("api,") for line in lines[1:])
    blueprints = b"".join(api_for(users["manager"]).get("/api/v1/blueprints/export/").streaming_content).decode()
    assert "shop,1," in blueprints


def test_only_platform_admins_define_components_and_it_is_audited(users, shop, api_for):
    body = {"name": "search", "image_repository": "registry.example.com/shop/search", "container_port": 9200}
    assert api_for(users["qa"]).post("/api/v1/components/", body, format="json").status_code == 403
    assert api_for(users["manager"]).post("/api/v1/components/", body, format="json").status_code == 403
    created = api_for(users["admin"]).post("/api/v1/components/", body, format="json")
    assert created.status_code == 201 and created.json()["replicas"] == 1
    changed = api_for(users["admin"]).patch(f"/api/v1/components/{created.json()['id']}/",
                                            {"replicas": 2, "cpu_limit": "1"}, format="json")
    assert changed.status_code == 200 and changed.json()["replicas"] == 2
    event = AuditEvent.objects.get(action="component.update")
    assert event.details["changes"]["replicas"] == {"before": 1, "after": 2}
    assert [e.outcome for e in AuditEvent.objects.filter(action="component.create").order_by("id")] == [
        "failure", "failure", "success"]


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"cpu_request": "lots"}, "cpu_request", "not a Kubernetes quantity"),
    ({"autoscaling_min": 3}, "autoscaling_max", "both autoscaling bounds"),
    ({"repository": "shop/x"}, "registry", "Choose the registry"),
    ({"name": "Bad_Name"}, "name", "lower-case"),
])
def test_bad_component_input_is_a_clear_400(users, shop, api_for, body, field, message):
    base = {"name": "search", "image_repository": "registry.example.com/shop/search"}
    response = api_for(users["admin"]).post("/api/v1/components/", base | body, format="json")
    assert response.status_code == 400
    assert message in " ".join(response.json()["error"]["fields"][field])
    assert not Component.objects.filter(image_repository="registry.example.com/shop/search").exists()


def test_qa_adds_an_image_version_by_hand_managers_cannot(users, shop, api_for):
    body = {"component": "web", "tag": "1.7.0", "digest": DIGEST}
    assert api_for(users["manager"]).post("/api/v1/image-versions/", body, format="json").status_code == 403
    created = api_for(users["qa"]).post("/api/v1/image-versions/", body, format="json")
    assert created.status_code == 201
    assert created.json()["pinned_reference"] == f"1.7.0@{DIGEST}" and not created.json()["discovered"]
    again = api_for(users["qa"]).post("/api/v1/image-versions/", body, format="json")
    assert again.status_code == 400 and "already has a version '1.7.0'" in again.json()["error"]["message"]
    bad = api_for(users["qa"]).post("/api/v1/image-versions/", body | {"tag": "1.8", "digest": "md5:x"},
                                    format="json")
    assert bad.status_code == 400 and "is not a digest" in bad.json()["error"]["message"]
    assert AuditEvent.objects.filter(action="image_version.create", outcome="success").count() == 1


def test_registry_credentials_are_encrypted_and_never_returned(users, api_for):
    body = {"name": "harbor", "kind": "v2", "url": "https://harbor.example.com",
            "credentials": {"username": "robot", "password": "s3cret-registry-pw"}}
    response = api_for(users["admin"]).post("/api/v1/registries/", body, format="json")
    assert response.status_code == 201
    assert response.json()["has_credentials"] is True and "credentials" not in response.json()
    listed = api_for(users["manager"]).get("/api/v1/registries/").content.decode()
    assert "s3cret-registry-pw" not in listed
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM environments_registry")
        stored = cursor.fetchone()[0]
    assert stored.startswith("fernet:") and "s3cret" not in stored
    assert "s3cret" not in json.dumps(list(AuditEvent.objects.values_list("details", flat=True)))
    # Changing the URL keeps the credentials; {} clears them.
    pk = response.json()["id"]
    kept = api_for(users["admin"]).patch(f"/api/v1/registries/{pk}/", {"url": "https://h2.example.com"},
                                         format="json")
    assert kept.json()["has_credentials"] is True
    cleared = api_for(users["admin"]).patch(f"/api/v1/registries/{pk}/", {"credentials": {}}, format="json")
    assert cleared.json()["has_credentials"] is False
    refused = api_for(users["qa"]).post("/api/v1/registries/", body | {"name": "other"}, format="json")
    assert refused.status_code == 403 and not Registry.objects.filter(name="other").exists()


def test_editing_a_blueprint_saves_the_next_version(users, shop, api_for):
    blueprint, _ = shop
    client = api_for(users["admin"])
    same = {"name": "shop", "description": blueprint.description, "components": ["api", "web", "worker"],
            "backing_services": blueprint.backing_services, "stage_overrides": blueprint.stage_overrides}
    unchanged = client.put(f"/api/v1/blueprints/{blueprint.pk}/", same, format="json")
    assert unchanged.status_code == 200 and unchanged.json()["version"] == 1
    edited = client.put(f"/api/v1/blueprints/{blueprint.pk}/", same | {"components": ["api", "web"]}, format="json")
    assert edited.status_code == 201 and edited.json()["version"] == 2
    assert Blueprint.objects.get(name="shop", version=1).components.count() == 3
    bad = client.post("/api/v1/blueprints/", same | {"name": "x", "stage_overrides": {"uat": {}}}, format="json")
    assert bad.status_code == 400 and "'uat' is not a stage" in bad.json()["error"]["message"]
    assert api_for(users["manager"]).put(f"/api/v1/blueprints/{blueprint.pk}/", same, format="json"
                                         ).status_code == 403
    latest = client.get("/api/v1/blueprints/", {"latest": "true"}).json()["results"]
    assert [(b["name"], b["version"]) for b in latest] == [("shop", 2)]


def test_blueprint_personal_data_is_written_and_read_through_the_api(users, shop, api_for):
    blueprint, _ = shop
    client = api_for(users["admin"])
    assert client.get(f"/api/v1/blueprints/{blueprint.pk}/").json()["personal_data"] == {}  # nothing declared
    same = {"name": "shop", "description": blueprint.description, "components": ["api", "web", "worker"],
            "backing_services": blueprint.backing_services, "stage_overrides": blueprint.stage_overrides}
    declared = {"mysql": ["customers.email"], "redis": ["session:*"]}
    created = client.put(f"/api/v1/blueprints/{blueprint.pk}/", same | {"personal_data": declared}, format="json")
    assert created.status_code == 201 and created.json()["version"] == 2
    assert created.json()["personal_data"] == declared
    assert Blueprint.objects.get(name="shop", version=2).personal_data == declared
    kept = client.put(f"/api/v1/blueprints/{blueprint.pk}/", same, format="json")  # left out: kept, unchanged
    assert kept.status_code == 200 and kept.json()["version"] == 2 and kept.json()["personal_data"] == declared
    legacy = client.put(f"/api/v1/blueprints/{blueprint.pk}/", same | {"personal_data": ["customers.email"]},
                        format="json")  # the list form: MariaDB only, Redis now unclassified
    assert legacy.status_code == 201 and legacy.json()["personal_data"] == {"mysql": ["customers.email"]}
    for body, field, reason in (
            ({"redis": ["session:*"], "postgres": []}, "personal_data", "Unknown store kinds: postgres"),
            ({"mysql": ["email"]}, "personal_data.mysql[0]", "'email' is not a column: write table.column"),
            ({"s3": [""]}, "personal_data.s3[0]", "give non-empty text"),
            ("customers.email", "personal_data", "Give personal_data as {mysql:")):
        bad = client.put(f"/api/v1/blueprints/{blueprint.pk}/", same | {"personal_data": body}, format="json")
        assert bad.status_code == 400, bad.content
        assert reason in bad.json()["error"]["fields"][field][0]
    assert Blueprint.objects.filter(name="shop").count() == 3
    assert AuditEvent.objects.filter(action="blueprint.new_version", outcome="failure").count() == 4


def test_post_a_blueprint_yaml_plan_then_apply(users, shop, api_for):
    blueprint, _ = shop
    client = api_for(users["admin"])
    exported = client.get(f"/api/v1/blueprints/{blueprint.pk}/document/", HTTP_ACCEPT="application/yaml")
    assert exported.status_code == 200 and b"kind: Blueprint" in exported.content
    same = client.post("/api/v1/blueprints/apply/?confirm=true", exported.content,
                       content_type="application/yaml")
    assert same.status_code == 200 and same.json()["action"] == "unchanged" and not same.json()["applied"]
    document = yaml.safe_load(exported.content)
    document["spec"]["stage_overrides"]["qa"] = {"api": {"replicas": 2}}
    text = documents.to_yaml(document)
    plan = client.post("/api/v1/blueprints/apply/", text, content_type="application/yaml").json()
    assert plan["action"] == "update" and plan["changes"] == [
        {"component": "(blueprint)", "field": "stage_overrides.qa.api.replicas", "before": None, "after": 2}]
    applied = client.post("/api/v1/blueprints/apply/", {"document": text, "confirm": True}, format="json")
    assert applied.status_code == 201 and applied.json()["blueprint"]["version"] == 2
    wrong = client.post("/api/v1/blueprints/apply/", "kind: Environment\n", content_type="application/yaml")
    assert wrong.status_code == 400 and "Use kind: Blueprint" in wrong.json()["error"]["message"]
    manager = api_for(users["manager"]).post("/api/v1/blueprints/apply/?confirm=1", documents.to_yaml(
        document | {"metadata": {"name": "shop-2"}}), content_type="application/yaml")
    assert manager.status_code == 403


@pytest.mark.integration
def test_refresh_versions_api_action_against_ecr(users, api_for, ecr_repository):
    digest = ecr_push(ecr_repository, "3.0.0")
    registry = Registry.objects.create(name="ecr", kind="ecr")
    component = Component.objects.create(name="api", image_repository="x/api", registry=registry,
                                         repository=ecr_repository)
    response = api_for(users["qa"]).post(f"/api/v1/components/{component.pk}/refresh-versions/")
    assert response.status_code == 200 and response.json()["added"] == ["3.0.0"]
    assert component.versions.get().digest == digest
    assert api_for(users["manager"]).post(f"/api/v1/components/{component.pk}/refresh-versions/").status_code == 403
    Component.objects.filter(pk=component.pk).update(repository="gone/repo")
    failed = api_for(users["admin"]).post(f"/api/v1/components/{component.pk}/refresh-versions/")
    assert failed.status_code == 400 and "has no repository 'gone/repo'" in failed.json()["error"]["message"]
