import io

import pytest
import yaml
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from environments import documents
from environments.models import Environment
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from tests.environments import test_services
from tests.environments.test_services import VERSIONS, create

shop = test_services.shop  # the fixture, shared


def doc(**changes):
    """A valid Environment document for 'qa-1' with ``changes`` merged into metadata/spec."""
    document = {
        "apiVersion": "slipway.io/v1", "kind": "Environment",
        "metadata": {"name": "qa-1", "team": "payments", "stage": "qa", "cluster": "local"},
        "spec": {"blueprint": {"name": "shop", "version": 1}, "versions": dict(VERSIONS)},
    }
    for section in ("metadata", "spec"):
        document[section].update(changes.pop(section, {}))
    document.update(changes)
    return document


def text(document) -> str:
    return yaml.safe_dump(document)


def test_export_then_import_is_unchanged(users, team, shop):
    environment = create(users["qa"], shop, team)
    exported = documents.to_yaml(documents.environment_document(environment))
    assert "apiVersion: slipway.io/v1" in exported and "kind: Environment" in exported
    assert yaml.safe_load(exported)["spec"] == {"blueprint": {"name": "shop", "version": 1},
                                                "versions": dict(sorted(VERSIONS.items()))}
    plan = documents.plan(exported, user=users["qa"])
    assert (plan.action, plan.rows, plan.revision, plan.environment) == ("unchanged", [], 1, environment)


def test_changed_version_plans_an_update_with_the_diff_row(users, team, shop):
    environment = create(users["qa"], shop, team)
    plan = documents.plan(text(doc(spec={"versions": VERSIONS | {"web": "1.4.2"}})), user=users["qa"])
    assert plan.action == "update" and plan.environment == environment
    assert plan.rows == [{"component": "web", "field": "tag", "before": "1.5.0", "after": "1.4.2"}]
    assert environment.revisions.count() == 1  # planning writes nothing


def test_unconfirmed_apply_changes_nothing_and_confirmed_makes_revision_2(users, team, shop):
    environment = create(users["qa"], shop, team)
    changed = text(doc(spec={"versions": VERSIONS | {"web": "1.4.2"}}))
    actor = Actor.for_user(users["qa"])
    shown = documents.apply_document(changed, actor=actor, user=users["qa"], confirm=False)
    assert shown.action == "update" and not shown.applied and environment.revisions.count() == 1
    assert not AuditEvent.objects.filter(action="environment.import").exists()
    applied = documents.apply_document(changed, actor=actor, user=users["qa"], confirm=True)
    assert applied.applied and applied.rollout.revision.number == 2
    environment.refresh_from_db()
    assert environment.current_revision.number == 2
    assert {c["name"]: c["tag"] for c in environment.current_revision.snapshot["components"]}["web"] == "1.4.2"
    event = AuditEvent.objects.get(action="environment.import")
    assert event.outcome == "success" and event.details["action"] == "update"
    assert event.details["changes"] == [{"component": "web", "field": "tag", "before": "1.5.0", "after": "1.4.2"}]
    assert AuditEvent.objects.filter(action="environment.update_versions", outcome="success").count() == 1
    again = documents.apply_document(changed, actor=actor, user=users["qa"], confirm=True)
    assert again.action == "unchanged" and not again.applied and environment.revisions.count() == 2


def test_new_name_creates(users, team, shop):
    document = text(doc(metadata={"name": "from-file"}, spec={"ttl_hours": 12}))
    assert documents.plan(document, user=users["developer"]).action == "create"
    plan = documents.apply_document(document, actor=Actor.for_user(users["developer"]), user=users["developer"],
                                    confirm=True)
    assert plan.applied and plan.environment.name == "from-file" and plan.environment.expires_at is not None
    assert plan.environment.current_revision.number == 1 and plan.environment.owner == users["developer"]
    assert AuditEvent.objects.get(action="environment.create").outcome == "success"
    assert AuditEvent.objects.get(action="environment.import").details["action"] == "create"


@pytest.mark.parametrize(("source", "field", "message"), [
    ("kind: [unclosed", "document", "not valid YAML"),
    ("- a list", "document", "must be a YAML mapping"),
    (doc(apiVersion="v1"), "apiVersion", "Use apiVersion: slipway.io/v1"),
    (doc(kind="Deployment"), "kind", "Use kind: Environment"),
    (doc(kind="Blueprint"), "kind", "blueprints/apply"),
    (doc(extra=1), "document", "Unknown top-level keys: extra"),
    (doc(metadata={"name": None}), "metadata.name", "'metadata.name' is required"),
    (doc(metadata={"cluster": "nope"}), "metadata.cluster", "No cluster is named 'nope'"),
    (doc(metadata={"team": "nope"}), "metadata.team", "No team has the slug 'nope'"),
    (doc(metadata={"stage": "live"}), "metadata.stage", "'live' is not a stage"),
    (doc(spec={"blueprint": {"name": "nope"}}), "spec.blueprint", "No blueprint is named 'nope'"),
    (doc(spec={"blueprint": {"name": "shop", "version": 7}}), "spec.blueprint", "has no version 7"),
    (doc(spec={"versions": VERSIONS | {"db": "1"}}), "spec.versions", "'db' is not a component"),
    (doc(spec={"versions": VERSIONS | {"web": "9.9.9"}}), "spec.versions", "'9.9.9' is not a known version"),
    (doc(spec={"versions": {"web": "1.5.0"}}), "spec.versions", "Choose a version for 'api'"),
    (doc(spec={"versions": VERSIONS | {"web": 1.5}}), "spec.versions", "quote tags"),
    (doc(spec={"ttl_hours": 0}), "spec.ttl_hours", "from 1 to 720"),
])
def test_invalid_documents_are_refused_with_a_clear_message(users, team, shop, source, field, message):
    with pytest.raises(ValidationError) as refused:
        documents.apply_document(source if isinstance(source, str) else text(source),
                                 actor=Actor.for_user(users["qa"]), user=users["qa"], confirm=True)
    assert message in " ".join(refused.value.message_dict[field])
    assert not Environment.objects.exists()
    assert AuditEvent.objects.get(action="environment.import").outcome == "failure"


def test_identity_of_a_live_environment_cannot_change_through_a_document(users, team, shop):
    create(users["qa"], shop, team)
    with pytest.raises(ValidationError) as refused:
        documents.plan(text(doc(metadata={"stage": "dev"})), user=users["qa"])
    assert "cannot be changed" in refused.value.message_dict["metadata.stage"][0]


def test_permissions(users, team, shop):
    environment = create(users["qa"], shop, team)
    changed = text(doc(spec={"versions": VERSIONS | {"web": "1.4.2"}}))
    assert documents.plan(changed, user=users["manager"]).action == "update"  # managers may look
    with pytest.raises(PermissionDenied):
        documents.apply_document(changed, actor=Actor.for_user(users["manager"]), user=users["manager"],
                                 confirm=True)
    with pytest.raises(PermissionDenied):  # outsiders do not even learn the diff
        documents.plan(changed, user=users["outsider"])
    assert environment.revisions.count() == 1


def test_blueprint_export(shop):
    exported = documents.blueprint_document(shop[0])
    assert exported["kind"] == "Blueprint" and exported["spec"]["version"] == 1
    assert [c["name"] for c in exported["spec"]["components"]] == ["api", "web", "worker"]
    assert exported["spec"]["components"][0]["image_repository"] == "registry.example.com/shop/api"
    assert exported["spec"]["backing_services"][0]["kind"] == "mariadb"
    assert exported["spec"]["stage_overrides"]["prod"]["api"] == {"replicas": 2}


def _command(path, *args):
    out = io.StringIO()
    call_command("apply_environment", str(path), *args, stdout=out)
    return out.getvalue()


def test_command_shows_the_plan_and_applies_only_with_yes(users, team, shop, tmp_path):
    environment = create(users["qa"], shop, team)
    path = tmp_path / "qa-1.yaml"
    path.write_text(text(doc(spec={"versions": VERSIONS | {"web": "1.4.2"}})))
    shown = _command(path, "--as", "qa")
    assert "Plan: update qa-1" in shown and "web        tag    1.5.0   1.4.2" in shown
    assert "--yes" in shown and environment.revisions.count() == 1
    applied = _command(path, "--as", "qa", "--yes")
    assert "Updated qa-1 to r2" in applied and environment.revisions.count() == 2
    assert "Plan: unchanged" in _command(path, "--as", "qa", "--yes")

    new = tmp_path / "new.yaml"
    new.write_text(text(doc(metadata={"name": "cli-made"})))
    assert "Plan: create cli-made" in _command(new)
    assert "Created cli-made" in _command(new, "--yes")
    made = Environment.objects.get(name="cli-made")
    assert made.owner is None
    assert AuditEvent.objects.get(action="environment.create", object_id=str(made.pk)).actor_name == "system:cli"


def test_command_refuses_invalid_documents_and_unknown_users(users, team, shop, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(text(doc(metadata={"cluster": "nope"})))
    with pytest.raises(CommandError, match=r"metadata\.cluster: No cluster is named 'nope'"):
        _command(path, "--yes")
    with pytest.raises(CommandError, match="No user is named 'ghost'"):
        _command(path, "--as", "ghost")
    with pytest.raises(CommandError, match="Cannot read"):
        _command(tmp_path / "missing.yaml")
    path.write_text(text(doc()))
    with pytest.raises(CommandError, match="Not allowed"):
        _command(path, "--as", "manager", "--yes")
    assert not Environment.objects.exists()


def test_api_export(users, team, shop, api_for):
    environment = create(users["qa"], shop, team)
    client = api_for(users["qa"])
    response = client.get(f"/api/v1/environments/{environment.pk}/document/")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/yaml")
    assert yaml.safe_load(response.content) == documents.environment_document(environment)
    as_json = client.get(f"/api/v1/environments/{environment.pk}/document/", {"format": "json"})
    assert as_json.json()["metadata"]["name"] == "qa-1"
    blueprint = client.get(f"/api/v1/environments/{environment.pk}/document/", {"kind": "blueprint"})
    assert yaml.safe_load(blueprint.content)["kind"] == "Blueprint"
    assert api_for(users["outsider"]).get(f"/api/v1/environments/{environment.pk}/document/").status_code == 403


def test_api_apply_yaml_with_and_without_confirm(users, team, shop, api_for):
    environment = create(users["qa"], shop, team)
    client = api_for(users["qa"])
    body = text(doc(spec={"versions": VERSIONS | {"web": "1.4.2"}}))
    shown = client.post("/api/v1/environments/apply/", body, content_type="application/yaml")
    assert shown.status_code == 200, shown.json()
    assert shown.json()["action"] == "update" and shown.json()["applied"] is False and shown.json()["revision"] == 1
    assert shown.json()["changes"] == [{"component": "web", "field": "tag", "before": "1.5.0", "after": "1.4.2"}]
    assert environment.revisions.count() == 1
    applied = client.post("/api/v1/environments/apply/?confirm=true", body, content_type="application/yaml")
    assert applied.status_code == 202 and applied.json()["job"]["kind"] == "rollout"
    assert applied.json()["environment"]["revision"] == 2

    created = client.post("/api/v1/environments/apply/", {"document": text(doc(metadata={"name": "api-doc"})),
                                                          "confirm": True}, format="json")
    assert created.status_code == 201 and created.json()["action"] == "create"
    assert created.json()["environment"]["name"] == "api-doc" and created.json()["job"]["kind"] == "rollout"

    bad = client.post("/api/v1/environments/apply/", "kind: [", content_type="application/yaml")
    assert bad.status_code == 400 and "not valid YAML" in bad.json()["error"]["message"]
    unknown = client.post("/api/v1/environments/apply/", {"document": text(doc(metadata={"team": "x"}))},
                          format="json")
    assert unknown.status_code == 400 and unknown.json()["error"]["fields"]["metadata.team"]


def test_api_manager_cannot_apply(users, team, shop, api_for):
    environment = create(users["qa"], shop, team)
    body = text(doc(spec={"versions": VERSIONS | {"web": "1.4.2"}}))
    client = api_for(users["manager"])
    assert client.post("/api/v1/environments/apply/", body, content_type="application/yaml").status_code == 200
    refused = client.post("/api/v1/environments/apply/?confirm=1", body, content_type="application/yaml")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    assert environment.revisions.count() == 1
    assert api_for(None).post("/api/v1/environments/apply/", body,
                              content_type="application/yaml").status_code in (401, 403)


def test_pages_export_and_apply(users, team, shop, client):
    environment = create(users["qa"], shop, team)
    client.force_login(users["qa"])
    assert b"Export YAML" in client.get(f"/environments/{environment.pk}/").content
    download = client.get(f"/environments/{environment.pk}/document/")
    assert download["Content-Disposition"] == 'attachment; filename="qa-1.yaml"'
    assert yaml.safe_load(download.content) == documents.environment_document(environment)
    assert client.get("/environments/import/").status_code == 200
    body = text(doc(spec={"versions": VERSIONS | {"web": "1.4.2"}}))
    shown = client.post("/environments/import/", {"document": body})
    assert b"Plan: update qa-1" in shown.content and b"1.4.2" in shown.content and b'name="confirm"' in shown.content
    assert environment.revisions.count() == 1
    applied = client.post("/environments/import/", {"document": body, "confirm": "1"})
    assert applied.status_code == 302 and environment.revisions.count() == 2
    bad = client.post("/environments/import/", {"document": text(doc(metadata={"cluster": "nope"}))})
    assert b"No cluster is named" in bad.content
    client.force_login(users["manager"])
    refused = client.post("/environments/import/", {"document": text(doc()), "confirm": "1"})
    assert refused.status_code == 403 and environment.revisions.count() == 2
