"""A blueprint's backing service may sleep (``may_sleep``): validated, shown on the pages, the API and the YAML
document (round trip), and carried into the render spec; a version saved before the flag reads it as false."""

import pytest
import yaml

from environments import documents
from environments.models import Blueprint
from environments.render import render
from environments.render.spec import BackingServiceSpec
from environments.snapshot import spec_for
from tests.environments import test_services
from tests.environments.test_render import dev_env

shop = test_services.shop


def _definition(blueprint, backing_services):
    return {"name": blueprint.name, "description": blueprint.description, "components": ["api", "web", "worker"],
            "backing_services": backing_services, "stage_overrides": blueprint.stage_overrides}


@pytest.mark.parametrize(("backing", "reason"), [
    ({"kind": "redis", "name": "cache", "may_sleep": "yes"}, "may_sleep is true or false (got 'yes')"),
    ({"kind": "redis", "name": "cache", "may_sleep": 1}, "may_sleep is true or false (got 1)"),
    ({"kind": "s3", "name": "media", "may_sleep": True}, "has nothing to put to sleep"),
])
def test_a_may_sleep_that_is_not_a_boolean_is_refused_with_its_path(users, shop, api_for, backing, reason):
    blueprint, _ = shop
    response = api_for(users["admin"]).put(f"/api/v1/blueprints/{blueprint.pk}/",
                                           _definition(blueprint, [backing]), format="json")
    assert response.status_code == 400, response.content
    assert reason in response.json()["error"]["fields"]["backing_services[0].may_sleep"][0]
    assert Blueprint.objects.filter(name="shop").count() == 1


def test_may_sleep_round_trips_through_the_api_and_the_yaml_document(users, shop, api_for):
    blueprint, _ = shop
    client = api_for(users["admin"])
    # A version saved before the flag existed reads it as false everywhere; saying so changes nothing.
    assert all("may_sleep" not in b for b in blueprint.backing_services)
    shown = client.get(f"/api/v1/blueprints/{blueprint.pk}/").json()["backing_services"]
    assert [(b["name"], b["may_sleep"]) for b in shown] == [("db", False), ("cache", False)]
    explicit = [{**b, "may_sleep": False} for b in blueprint.backing_services]
    same = client.put(f"/api/v1/blueprints/{blueprint.pk}/", _definition(blueprint, explicit), format="json")
    assert same.status_code == 200 and same.json()["version"] == 1

    sleeping = [explicit[0], {**explicit[1], "may_sleep": True}]
    saved = client.put(f"/api/v1/blueprints/{blueprint.pk}/", _definition(blueprint, sleeping), format="json")
    assert saved.status_code == 201 and saved.json()["version"] == 2
    assert [(b["name"], b["may_sleep"]) for b in saved.json()["backing_services"]] == [("db", False),
                                                                                      ("cache", True)]
    v2 = Blueprint.objects.get(name="shop", version=2)

    exported = client.get(f"/api/v1/blueprints/{v2.pk}/document/", HTTP_ACCEPT="application/yaml")
    document = yaml.safe_load(exported.content)
    assert [b["may_sleep"] for b in document["spec"]["backing_services"]] == [False, True]
    again = client.post("/api/v1/blueprints/apply/?confirm=true", exported.content, content_type="application/yaml")
    assert again.status_code == 200 and again.json()["action"] == "unchanged"
    # Left out of a document: false, so the plan shows the change back.
    for backing in document["spec"]["backing_services"]:
        backing.pop("may_sleep")
    plan = client.post("/api/v1/blueprints/apply/", documents.to_yaml(document),
                       content_type="application/yaml").json()
    assert plan["action"] == "update" and plan["changes"] == [
        {"component": "(blueprint)", "field": "backing_services.cache.may_sleep", "before": True, "after": False}]
    document["spec"]["backing_services"][1]["may_sleep"] = "true"  # a string: refused, not coerced
    refused = client.post("/api/v1/blueprints/apply/", documents.to_yaml(document), content_type="application/yaml")
    assert refused.status_code == 400
    assert "may_sleep is true or false" in refused.json()["error"]["fields"]["spec.backing_services[1].may_sleep"][0]


def test_the_blueprint_pages_show_which_backing_services_may_sleep(users, shop, client):
    blueprint, _ = shop
    Blueprint.objects.filter(pk=blueprint.pk).update(backing_services=[
        {"kind": "mariadb", "name": "db", "version": "11.4"}, {"kind": "redis", "name": "cache", "may_sleep": True}])
    client.force_login(users["qa"])
    detail = client.get(f"/catalog/blueprints/{blueprint.pk}/").content.decode()
    assert "<code>db</code> 11.4 (stays up while asleep)" in detail
    assert "<code>cache</code>  (may sleep)" in detail and "may_sleep: true" in detail  # and in the document
    assert "redis:cache (may sleep)" in client.get("/catalog/blueprints/").content.decode()
    csv = b"".join(client.get("/catalog/blueprints/export.csv").streaming_content).decode()
    assert "mariadb:db redis:cache:may-sleep" in csv


def test_the_render_spec_carries_may_sleep_and_keeps_a_sleeping_servers_claim(users, team, shop):
    blueprint, cluster = shop
    Blueprint.objects.filter(pk=blueprint.pk).update(backing_services=[
        {"kind": "mariadb", "name": "db"}, {"kind": "redis", "name": "cache", "may_sleep": True}])
    blueprint.refresh_from_db()
    environment = test_services.create(users["qa"], (blueprint, cluster), team)
    spec = spec_for(environment, environment.current_revision)
    assert [(b.name, b.may_sleep) for b in spec.backing_services] == [("db", False), ("cache", True)]
    # Only a server that may sleep keeps its volume claim when scaled to zero (else it would wake empty).
    persistent = dev_env(backing_services=(BackingServiceSpec(kind="mariadb", name="db", password="x"),
                                           BackingServiceSpec(kind="redis", name="cache", may_sleep=True)),
                         persistent_backing=True)
    policies = {o["metadata"]["name"]: o["spec"]["persistentVolumeClaimRetentionPolicy"]
                for o in render(persistent) if o["kind"] == "StatefulSet"}
    assert policies == {"db": {"whenDeleted": "Delete", "whenScaled": "Delete"},
                        "cache": {"whenDeleted": "Delete", "whenScaled": "Retain"}}
