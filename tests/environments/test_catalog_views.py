"""The catalog pages: lists with filters/CSV, detail pages, admin forms, QA adding versions, refresh, import."""

import json

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.test import Client

from environments import documents
from environments.models import Blueprint, Component, ImageVersion, Registry
from portal.audit.models import AuditEvent
from tests.environments import test_services
from tests.fixtures.image_registry import ecr_push

shop = test_services.shop


@pytest.fixture
def client_for():
    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


def test_lists_render_filter_and_export_for_every_role(users, shop, client_for, django_assert_max_num_queries):
    client = client_for(users["manager"])
    for url in ("/catalog/components/", "/catalog/image-versions/", "/catalog/blueprints/", "/catalog/registries/"):
        with django_assert_max_num_queries(12):
            response = client.get(url)
        assert response.status_code == 200, url
        assert b'href="/catalog/components/"' in response.content  # the nav link and tabs
    filtered = client.get("/catalog/image-versions/", {"component": "api"}).content.decode()
    assert "2.0.1" in filtered and "1.4.2" not in filtered
    assert b"New component" not in client.get("/catalog/components/").content  # Managers read only
    csv = b"".join(client.get("/catalog/components/export.csv", {"q": "web"}).streaming_content).decode()
    assert csv.splitlines()[1].startswith("web,registry.example.com/shop/web")


def test_component_detail_shows_versions_newest_first_and_blueprints(users, shop, client_for):
    web = Component.objects.get(name="web")
    page = client_for(users["qa"]).get(f"/catalog/components/{web.pk}/").content.decode()
    assert "shop v1" in page and "Add version" in page and "Refresh versions" not in page  # not linked


def test_admin_creates_and_edits_a_component_qa_and_managers_cannot(users, shop, client_for):
    form = {"name": "search", "image_repository": "registry.example.com/shop/search", "container_port": "9200",
            "health_check_path": "/", "replicas": "1", "cpu_request": "100m", "memory_request": "128Mi",
            "cpu_limit": "500m", "memory_limit": "512Mi", "ingress_path": "/search", "default_env": "LOG: debug"}
    assert client_for(users["qa"]).get("/catalog/components/new/").status_code == 403
    assert client_for(users["manager"]).post("/catalog/components/new/", form).status_code == 403
    response = client_for(users["admin"]).post("/catalog/components/new/", form)
    assert response.status_code == 302
    search = Component.objects.get(name="search")
    assert search.default_env == {"LOG": "debug"} and search.container_port == 9200
    bad = client_for(users["admin"]).post(f"/catalog/components/{search.pk}/edit/", form | {"cpu_limit": "lots"})
    assert bad.status_code == 200 and "not a Kubernetes quantity" in bad.content.decode()
    assert AuditEvent.objects.filter(action="component.create", outcome="success").count() == 1


def test_qa_adds_a_version_by_hand_from_the_page(users, shop, client_for):
    web = Component.objects.get(name="web")
    response = client_for(users["qa"]).post(f"/catalog/components/{web.pk}/versions/", {"tag": "1.7.0"},
                                            follow=True)
    assert "Added web:1.7.0." in response.content.decode()
    assert ImageVersion.objects.filter(component=web, tag="1.7.0", discovered=False).exists()
    refused = client_for(users["manager"]).post(f"/catalog/components/{web.pk}/versions/", {"tag": "1.8.0"},
                                                follow=True)
    assert "Only QA, Developers and Platform admins" in refused.content.decode()


def test_editing_a_blueprint_from_the_page_saves_the_next_version(users, shop, client_for):
    blueprint, _ = shop
    client = client_for(users["admin"])
    page = client.get(f"/catalog/blueprints/{blueprint.pk}/edit/").content.decode()
    assert "mariadb" in page and "Versions are immutable" in page
    form = {"description": "smaller", "components": ["web", "api"],
            "backing_services": yaml.safe_dump(blueprint.backing_services), "stage_overrides": "prod: {web: {replicas: 2}}"}
    response = client.post(f"/catalog/blueprints/{blueprint.pk}/edit/", form, follow=True)
    assert "Saved shop v2." in response.content.decode()
    assert Blueprint.objects.get(name="shop", version=2).stage_overrides == {"prod": {"web": {"replicas": 2}}}
    bad = client.post(f"/catalog/blueprints/{blueprint.pk}/edit/", form | {"stage_overrides": "uat: {}"})
    assert "&#x27;uat&#x27; is not a stage" in bad.content.decode()


def test_the_blueprint_page_edits_personal_data(users, shop, client_for):
    blueprint, _ = shop
    Blueprint.objects.filter(pk=blueprint.pk).update(personal_data=["customers.email"])
    client = client_for(users["admin"])
    page = client.get(f"/catalog/blueprints/{blueprint.pk}/edit/").content.decode()
    assert "mysql:\n- customers.email" in page and "unclassified" in page
    form = {"description": blueprint.description, "components": ["web", "api", "worker"],
            "backing_services": yaml.safe_dump(blueprint.backing_services),
            "stage_overrides": yaml.safe_dump(blueprint.stage_overrides),
            "personal_data": "mysql: [customers.email]\nredis: ['session:*']\ns3: []"}
    response = client.post(f"/catalog/blueprints/{blueprint.pk}/edit/", form, follow=True)
    assert "Saved shop v2." in response.content.decode()
    assert Blueprint.objects.get(name="shop", version=2).personal_data == {
        "mysql": ["customers.email"], "redis": ["session:*"], "s3": []}
    bad = client.post(f"/catalog/blueprints/{blueprint.pk}/edit/", form | {"personal_data": "redis: ['']"})
    assert "personal_data.redis[0]: &#x27;&#x27; is not an entry" in bad.content.decode()
    assert "Give a YAML mapping or list" in client.post(f"/catalog/blueprints/{blueprint.pk}/edit/",
                                                        form | {"personal_data": "just text"}).content.decode()
    assert Blueprint.objects.filter(name="shop").count() == 2


def test_the_django_admin_checks_personal_data_the_same_way(db, shop):
    blueprint, _ = shop
    root = Client()
    root.force_login(get_user_model().objects.create_superuser("root", password="root-pass-123456"))
    form = {"name": "shop", "version": "1", "description": "", "components": [c.pk for c in blueprint.components.all()],
            "backing_services": json.dumps(blueprint.backing_services),
            "stage_overrides": json.dumps(blueprint.stage_overrides)}
    url = f"/admin/environments/blueprint/{blueprint.pk}/change/"
    bad = root.post(url, form | {"personal_data": json.dumps({"redis": ["session:*"], "mongo": []})})
    assert bad.status_code == 200 and "Unknown store kinds: mongo" in bad.content.decode()
    good = root.post(url, form | {"personal_data": json.dumps({"redis": ["session:*"]})})
    assert good.status_code == 302
    blueprint.refresh_from_db()
    assert blueprint.personal_data == {"redis": ["session:*"]}


def test_blueprint_import_page_plans_then_saves(users, shop, client_for):
    blueprint, _ = shop
    document = yaml.safe_load(documents.to_yaml(documents.blueprint_document(blueprint)))
    document["spec"]["stage_overrides"]["dev"] = {"web": {"replicas": 1}}
    text = documents.to_yaml(document)
    client = client_for(users["admin"])
    plan = client.post("/catalog/blueprints/import/", {"document": text}).content.decode()
    assert "shop v1 → v2" in plan and "stage_overrides.dev.web.replicas" in plan
    assert Blueprint.objects.filter(name="shop").count() == 1
    done = client.post("/catalog/blueprints/import/", {"document": text, "confirm": "1"}, follow=True)
    assert "Saved shop v2." in done.content.decode()
    yaml_download = client.get(f"/catalog/blueprints/{blueprint.pk}/document/")
    assert yaml.safe_load(yaml_download.content)["spec"]["version"] == 1


def test_registry_form_stores_credentials_it_never_shows(users, client_for):
    client = client_for(users["admin"])
    client.post("/catalog/registries/new/", {"name": "harbor", "kind": "v2", "url": "https://harbor.example.com",
                                             "username": "robot", "password": "pw-form-secret"})
    registry = Registry.objects.get(name="harbor")
    assert "pw-form-secret" in str(registry.credentials)
    for url in ("/catalog/registries/", f"/catalog/registries/{registry.pk}/edit/"):
        assert b"pw-form-secret" not in client.get(url).content
    client.post(f"/catalog/registries/{registry.pk}/edit/", {"name": "harbor", "kind": "v2",
                                                            "url": "https://h2.example.com"})
    registry.refresh_from_db()
    assert registry.url == "https://h2.example.com" and "pw-form-secret" in str(registry.credentials)


@pytest.mark.integration
def test_refresh_button_syncs_from_ecr_and_reports_errors(users, client_for, ecr_repository):
    ecr_push(ecr_repository, "4.0.0")
    registry = Registry.objects.create(name="ecr", kind="ecr")
    component = Component.objects.create(name="api", image_repository="x/api", registry=registry,
                                         repository=ecr_repository)
    response = client_for(users["qa"]).post(f"/catalog/components/{component.pk}/refresh/", follow=True)
    assert "Versions refreshed from ecr: 1 added." in response.content.decode()
    Component.objects.filter(pk=component.pk).update(repository="gone/repo")
    failed = client_for(users["qa"]).post(f"/catalog/components/{component.pk}/refresh/", follow=True)
    assert "has no repository &#x27;gone/repo&#x27;" in failed.content.decode()
