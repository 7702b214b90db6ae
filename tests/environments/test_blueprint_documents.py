"""Blueprint documents: export → import round trip, plan (diff), new immutable versions, bad input."""

import io

import pytest
import yaml
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from environments import blueprint_documents, documents
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
