"""Blueprint documents: export → import round trip, plan (diff), new immutable versions, bad input."""

import io

import pytest
import yaml
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from environments import documents
from environments.catalog import blueprint_documents
from environments.models import Blueprint
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from tests.environments import test_services
from tests.environments.test_services import create

shop = test_services.shop


def exported(blueprint):
    return yaml.safe_load(documents.to_yaml(documents.blueprint_document(blueprint)))


def apply(document, user, confirm=True):
    return blueprint_documents.apply(document, actor=Actor.for_user(user), user=user, confirm=confirm)


def test_export_then_import_is_a_no_op(users, shop):
    blueprint, _ = shop
    result = apply(exported(blueprint), users["admin"])
    assert (result.action, result.applied, result.rows, result.blueprint) == ("unchanged", False, [], blueprint)
    assert Blueprint.objects.filter(name="shop").count() == 1
    # Only the demo seed's own creation event, nothing from the import.
    assert not AuditEvent.objects.filter(action__startswith="blueprint.").exclude(actor_kind="system").exists()


def test_a_changed_document_shows_the_diff_then_makes_the_next_version(users, team, shop):
    blueprint, _ = shop
    environment = create(users["qa"], shop, team)
    document = exported(blueprint)
    document["spec"]["stage_overrides"]["prod"]["web"]["replicas"] = 4
    document["spec"]["components"] = [c for c in document["spec"]["components"] if c["name"] != "worker"]
    shown = apply(document, users["admin"], confirm=False)
    assert shown.action == "update" and not shown.applied
    assert shown.rows == [
        {"component": "(blueprint)", "field": "components.worker", "before": "included", "after": None},
        {"component": "(blueprint)", "field": "stage_overrides.prod.web.replicas", "before": 3, "after": 4}]
    assert Blueprint.objects.filter(name="shop").count() == 1  # planning writes nothing
    done = apply(document, users["admin"])
    assert done.applied and done.blueprint.version == 2
    assert sorted(done.blueprint.components.values_list("name", flat=True)) == ["api", "web"]
    blueprint.refresh_from_db()  # v1 is immutable and the environment keeps it
    assert blueprint.stage_overrides["prod"]["web"]["replicas"] == 3 and blueprint.components.count() == 3
    environment.refresh_from_db()
    assert environment.blueprint == blueprint
    event = AuditEvent.objects.get(action="blueprint.new_version")
    assert event.details["version"] == 2 and event.details["previous"]["components"] == ["api", "web", "worker"]
    assert apply(document, users["admin"]).action == "unchanged"  # applying again changes nothing
    assert Blueprint.objects.filter(name="shop").count() == 2


@pytest.mark.parametrize(("change", "path", "message"), [
    (lambda s: s["components"].append("nope"), "spec.components", "Unknown component 'nope'"),
    (lambda s: s["stage_overrides"].update(uat={"web": {"replicas": 2}}), "spec.stage_overrides",
     "'uat' is not a stage"),
    (lambda s: s["stage_overrides"]["prod"]["web"].update(image="evil"), "spec.stage_overrides.prod.web.image",
     "cannot be overridden per stage"),
    (lambda s: s["stage_overrides"]["prod"]["web"].update(replicas="three"),
     "spec.stage_overrides.prod.web.replicas", "must be a whole number"),
    (lambda s: s["stage_overrides"].update(qa={"ghost": {"replicas": 1}}), "spec.stage_overrides.qa.ghost",
     "'ghost' is not a component of this blueprint"),
    (lambda s: s["backing_services"].append({"kind": "mongodb", "name": "docs"}), "spec.backing_services[2].kind",
     "not a backing service kind"),
    (lambda s: s.update(colour="red"), "spec", "Unknown keys in spec: colour"),
])
def test_bad_documents_are_refused_with_the_path_and_nothing_written(users, shop, change, path, message):
    blueprint, _ = shop
    document = exported(blueprint)
    change(document["spec"])
    with pytest.raises(ValidationError) as refused:
        apply(document, users["admin"])
    assert message in " ".join(refused.value.message_dict[path])
    assert Blueprint.objects.filter(name="shop").count() == 1


def test_only_platform_admins_import_blueprints(users, shop):
    blueprint, _ = shop
    document = exported(blueprint) | {"metadata": {"name": "new-shop", "description": ""}}
    assert apply(document, users["qa"], confirm=False).action == "create"  # the plan is read-only
    with pytest.raises(PermissionDenied):
        apply(document, users["qa"])
    assert not Blueprint.objects.filter(name="new-shop").exists()
    assert AuditEvent.objects.exclude(actor_kind="system").get(action="blueprint.create").outcome == "failure"


def test_apply_environment_command_takes_blueprint_documents(users, shop, tmp_path):
    blueprint, _ = shop
    document = exported(blueprint)
    document["spec"]["stage_overrides"]["staging"] = {"api": {"replicas": 2}}
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump(document))
    out = io.StringIO()
    call_command("apply_environment", str(path), stdout=out)
    assert "new version of blueprint shop (v2)" in out.getvalue()
    assert "stage_overrides.staging.api.replicas" in out.getvalue() and "Nothing applied" in out.getvalue()
    call_command("apply_environment", str(path), "--yes", "--as", "admin", stdout=out)
    assert "Saved blueprint shop v2." in out.getvalue()
    document["spec"]["stage_overrides"]["dev"] = {"api": {"replicas": 1}}
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(CommandError, match="Not allowed"):
        call_command("apply_environment", str(path), "--yes", "--as", "qa", stdout=out)


# --- personal data: what a copy out of production must mask or leave out -------------------------------------------

PERSONAL = {"mysql": ["customers.email"], "redis": ["session:*"], "s3": ["private/"]}


def test_personal_data_travels_with_the_document_and_a_change_is_the_next_version(users, shop):
    blueprint, _ = shop
    Blueprint.objects.filter(pk=blueprint.pk).update(personal_data=PERSONAL)
    blueprint.refresh_from_db()
    document = exported(blueprint)
    assert document["spec"]["personal_data"] == PERSONAL
    assert apply(document, users["admin"]).action == "unchanged"  # the round trip changes nothing
    document["spec"]["personal_data"]["redis"] = ["session:*", "cart:*"]
    shown = apply(document, users["admin"], confirm=False)
    assert shown.action == "update" and shown.rows == [
        {"component": "(blueprint)", "field": "personal_data.redis", "before": ["session:*"],
         "after": ["cart:*", "session:*"]}]
    done = apply(document, users["admin"])
    assert done.applied and done.blueprint.version == 2
    assert done.blueprint.personal_data == {**PERSONAL, "redis": ["cart:*", "session:*"]}
    assert AuditEvent.objects.get(action="blueprint.new_version").details["personal_data"]["redis"] == [
        "cart:*", "session:*"]
    blueprint.refresh_from_db()
    assert blueprint.personal_data == PERSONAL  # v1 is immutable
    del document["spec"]["personal_data"]["s3"]  # S3 no longer classified: a change too
    assert [r["field"] for r in apply(document, users["admin"], confirm=False).rows] == ["personal_data.s3"]


def test_a_document_without_personal_data_keeps_the_latest_declaration(users, shop):
    blueprint, _ = shop
    Blueprint.objects.filter(pk=blueprint.pk).update(personal_data=PERSONAL)
    blueprint.refresh_from_db()
    document = exported(blueprint)
    del document["spec"]["personal_data"]
    assert apply(document, users["admin"]).action == "unchanged"
    document["spec"]["stage_overrides"]["prod"]["web"]["replicas"] = 5
    assert apply(document, users["admin"]).blueprint.personal_data == PERSONAL


def test_the_legacy_column_list_is_the_mysql_entry(users, shop):
    """A list of columns classifies MariaDB only; as {mysql: [...]} Redis and S3 stay unclassified (same policy)."""
    blueprint, _ = shop
    Blueprint.objects.filter(pk=blueprint.pk).update(personal_data=["orders.email", "customers.name"])
    blueprint.refresh_from_db()
    assert exported(blueprint)["spec"]["personal_data"] == {"mysql": ["customers.name", "orders.email"]}
    document = exported(blueprint)
    document["spec"]["personal_data"] = ["customers.name", "orders.email"]
    assert apply(document, users["admin"]).action == "unchanged"


@pytest.mark.parametrize(("personal", "path", "message"), [
    ({"mongodb": ["x"]}, "spec.personal_data", "Unknown store kinds: mongodb"),
    ({"redis": "session:*"}, "spec.personal_data.redis", "Give redis as a list"),
    ({"mysql": ["email"]}, "spec.personal_data.mysql[0]", "'email' is not a column: write table.column"),
    ({"mysql": ["customers.email; drop table x"]}, "spec.personal_data.mysql[0]", "is not a column"),
    ({"s3": ["ok/", ""]}, "spec.personal_data.s3[1]", "give non-empty text"),
    ({"redis": [7]}, "spec.personal_data.redis[0]", "7 is not an entry"),
    ({"redis": ["a" * 513]}, "spec.personal_data.redis[0]", "at most 512 characters"),
    ({"s3": ["x/"] * 201}, "spec.personal_data.s3", "At most 200 entries"),
    (["customers"], "spec.personal_data[0]", "'customers' is not a column"),
    ("customers.email", "spec.personal_data", "Give personal_data as {mysql:"),
])
def test_bad_personal_data_is_refused_with_the_path_and_nothing_written(users, shop, personal, path, message):
    blueprint, _ = shop
    document = exported(blueprint)
    document["spec"]["personal_data"] = personal
    with pytest.raises(ValidationError) as refused:
        apply(document, users["admin"])
    assert message in " ".join(refused.value.message_dict[path])
    assert Blueprint.objects.filter(name="shop").count() == 1
