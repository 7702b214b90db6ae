"""Class 3: the production-data policy covers every store (MariaDB, Redis, S3) and every direction.

Copies run for real: MariaDB on the stack's server, Redis from a prefix on the stack's server into a db
on a spare server, S3 between two buckets on moto; the job runs when the request commits.
"""

import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.test import Client

from environments.catalog.selectors import blueprint_definition
from environments.models import Blueprint, Environment
from migrations_tool.models import DataCopy
from migrations_tool.policy import PersonalData
from migrations_tool.services import data_copy_start
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.jobs.models import Job
from tests.migrations_tool import conftest as copy_fixtures
from tests.migrations_tool.test_copy_jobs import start

pytestmark = pytest.mark.integration

# The data-copy worlds of tests/migrations_tool, shared rather than copied.
spare_redis_server, other_redis = copy_fixtures.spare_redis_server, copy_fixtures.other_redis
mariadb_pair, copy_world = copy_fixtures.mariadb_pair, copy_fixtures.copy_world
three_store_world = copy_fixtures.three_store_world

# Redis key names and S3 keys are relative to the store's prefix.
PERSONAL = {"mysql": ["customers.email"], "redis": ["session:*"], "s3": ["private/"]}
REASON = "INC-4711: reproduce the checkout bug with production sessions"


def fill(world):
    src, prefix = world["source_redis"], world["source_prefix"]
    src.set(f"{prefix}session:1", "alice@corp.example", ex=3600)
    src.set(f"{prefix}session:2", "bob@corp.example")
    src.rpush(f"{prefix}queue", "a", "b")
    world["target_redis"].set("session:1", "stale")
    s3, bucket = world["s3"], world["source_bucket"]
    s3.put_object(Bucket=bucket, Key="public/logo.png", Body=b"logo")
    s3.put_object(Bucket=bucket, Key="private/passport-alice.pdf", Body=b"alice's passport")
    s3.put_object(Bucket=world["bucket"], Key="private/kept.pdf", Body=b"the target's own")


def stage(world, *, source="qa", target="qa", personal=None):
    Environment.objects.filter(pk=world["source"].pk).update(stage=source)
    Environment.objects.filter(pk=world["target"].pk).update(stage=target)
    for role in ("source", "target"):
        world[role].refresh_from_db()
    blueprint = world["source"].blueprint
    blueprint.personal_data = personal if personal is not None else ["customers.email"]
    blueprint.save()


def target_redis(world):
    return {k.decode(): v for k in world["target_redis"].keys() if (v := world["target_redis"].dump(k))}


def target_objects(world):
    listing = world["s3"].list_objects_v2(Bucket=world["bucket"]).get("Contents", [])
    return {o["Key"] for o in listing if not o["Key"].startswith("slipway-snapshots/")}


def last_start_event(outcome="success"):
    return AuditEvent.objects.filter(action="data_copy.start", outcome=outcome).order_by("pk").last()


@pytest.mark.parametrize("declared", [[], {}, {"redis": [], "s3": []}])
def test_a_blueprint_silent_about_mariadb_lets_no_production_database_out_unmasked(
        three_store_world, django_capture_on_commit_callbacks, declared):
    """Never declared (the model's default) is unclassified, MariaDB included: a QA user cannot copy
    the production database out, masked by nothing, because nobody listed its personal columns."""
    world = three_store_world
    fill(world)
    stage(world, source="prod", personal=declared)
    capture = django_capture_on_commit_callbacks
    with pytest.raises(ValidationError, match="does not say which MariaDB"):
        start(world, user="qa", capture=capture, stores=["mysql"])
    with pytest.raises(PermissionDenied, match="Only a Platform admin"):
        start(world, user="qa", capture=capture, stores=["mysql"], override_reason=REASON)
    assert not DataCopy.objects.exists()
    copy = start(world, user="admin", capture=capture, stores=["mysql"], override_reason=REASON)
    assert copy.state == DataCopy.VERIFIED, copy.error
    assert last_start_event().details["policy"]["stores"] == {"mysql": {"rule": "admin-override",
                                                                        "unclassified": True}}


@pytest.mark.parametrize("kind", ["redis", "s3"])
@pytest.mark.parametrize("role", ["qa", "developer"])
def test_out_of_production_an_unclassified_store_needs_an_admin_with_a_reason(
        three_store_world, django_capture_on_commit_callbacks, kind, role):
    world = three_store_world
    fill(world)
    stage(world, source="prod", personal=["customers.email"])  # the original form: Redis and S3 unclassified
    capture = django_capture_on_commit_callbacks
    with pytest.raises(ValidationError) as refused:
        start(world, user=role, capture=capture, stores=[kind])
    assert "stores" in refused.value.message_dict
    assert "does not say which" in str(refused.value)
    with pytest.raises(PermissionDenied, match="Only a Platform admin"):
        start(world, user=role, capture=capture, stores=[kind], override_reason=REASON)
    with pytest.raises(ValidationError):
        start(world, user="admin", capture=capture, stores=[kind], override_reason="   ")
    assert not DataCopy.objects.exists() and not Job.objects.exists()
    assert target_objects(world) == {"private/kept.pdf"} and target_redis(world).keys() == {"session:1"}
    refusals = AuditEvent.objects.filter(action="data_copy.start", outcome="failure")
    assert refusals.count() == 3 and all(e.details["policy"]["refused"] for e in refusals)

    copy = start(world, user="admin", capture=capture, stores=[kind], override_reason=REASON)
    assert copy.state == DataCopy.VERIFIED, copy.error
    assert copy.policy_override == REASON
    event = last_start_event()
    assert event.details["policy"] == {"direction": "out-of-production", "reason": REASON,
                                       "stores": {kind: {"rule": "admin-override", "unclassified": True}}}
    assert event.details["override"]["stores"] == [kind]
    if kind == "redis":  # approved with a reason: everything travels
        assert world["target_redis"].get("session:2") == b"bob@corp.example"
    else:
        assert "private/passport-alice.pdf" in target_objects(world)


@pytest.mark.parametrize("role", ["qa", "developer", "admin"])
def test_out_of_production_personal_keys_and_prefixes_are_left_out(three_store_world,
                                                                   django_capture_on_commit_callbacks, role):
    world = three_store_world
    fill(world)
    stage(world, source="prod", personal=PERSONAL)
    # asking for the personal keys by name, or mirroring, does not bring them over nor delete the target's own
    copy = start(world, user=role, capture=django_capture_on_commit_callbacks, stores=["redis", "s3"],
                 options={"redis": {"include": ["session:*", "queue"], "mirror": True}, "s3": {"mirror": True}})
    assert copy.state == DataCopy.VERIFIED, copy.error
    assert world["target_redis"].get("session:2") is None
    assert world["target_redis"].get("session:1") == b"stale"  # the target's own personal key is untouched
    assert world["target_redis"].lrange("queue", 0, -1) == [b"a", b"b"]
    assert target_objects(world) == {"public/logo.png", "private/kept.pdf"}
    assert copy.options["redis"]["exclude"] == ["session:*"] and copy.options["s3"]["exclude_prefixes"] == ["private/"]
    event = last_start_event()
    assert event.details["policy"]["stores"] == {
        "redis": {"rule": "personal-excluded", "excluded": ["session:*"]},
        "s3": {"rule": "personal-excluded", "excluded": ["private/"]}}
    assert event.details["override"] is None and copy.policy_override == ""


def test_personal_data_declared_through_the_api_is_what_the_copy_leaves_out(
        three_store_world, django_capture_on_commit_callbacks, api_for):
    """The catalog API writes the declaration the policy reads: a Redis pattern and an S3 prefix marked
    personal there are left out of a copy out of production (environments built from that version)."""
    world = three_store_world
    fill(world)
    stage(world, source="prod", personal=["customers.email"])  # v1: Redis and S3 unclassified
    v1 = world["source"].blueprint
    body = {"name": v1.name, **blueprint_definition(v1), "personal_data": PERSONAL}
    saved = api_for(world["users"]["admin"]).put(f"/api/v1/blueprints/{v1.pk}/", body, format="json")
    assert saved.status_code == 201, saved.content
    Environment.objects.filter(pk__in=[world["source"].pk, world["target"].pk]).update(blueprint=saved.json()["id"])
    world["source"].refresh_from_db()
    copy = start(world, user="qa", capture=django_capture_on_commit_callbacks, stores=["redis", "s3"])
    assert copy.state == DataCopy.VERIFIED, copy.error
    assert world["target_redis"].get("session:2") is None
    assert world["target_redis"].lrange("queue", 0, -1) == [b"a", b"b"]
    assert target_objects(world) == {"public/logo.png", "private/kept.pdf"}
    assert last_start_event().details["policy"]["stores"] == {
        "redis": {"rule": "personal-excluded", "excluded": ["session:*"]},
        "s3": {"rule": "personal-excluded", "excluded": ["private/"]}}


def test_the_job_applies_the_exclusions_even_when_the_row_lacks_them(three_store_world,
                                                                     django_capture_on_commit_callbacks):
    """A copy queued before its blueprint marked data personal (or written by any other path) still leaves
    the personal data out when it runs."""
    world = three_store_world
    fill(world)
    stage(world, source="prod", personal={"mysql": [], "redis": [], "s3": []})
    with django_capture_on_commit_callbacks(execute=False) as queued:
        copy = data_copy_start(actor=Actor.for_user(world["users"]["qa"]), user=world["users"]["qa"],
                               source=world["source"], target=world["target"], stores=["redis", "s3"])
    assert copy.options == {}
    blueprint = world["source"].blueprint
    blueprint.personal_data = PERSONAL
    blueprint.save()
    for enqueue in queued:  # what a worker would pick up after the commit
        enqueue()
    copy.refresh_from_db()
    assert copy.state == DataCopy.VERIFIED, copy.error
    assert world["target_redis"].get("session:2") is None
    assert "private/passport-alice.pdf" not in target_objects(world)


def test_out_of_production_mysql_in_the_per_store_form(copy_world, django_capture_on_commit_callbacks):
    """A blueprint that classifies only Redis leaves MariaDB unclassified: an admin's reason is needed."""
    stage(copy_world, source="prod", personal={"redis": ["session:*"]})
    with pytest.raises(ValidationError) as refused:
        start(copy_world, capture=django_capture_on_commit_callbacks, stores=["mysql"],
              options={"masking": {"customers.email": "email"}})
    assert "stores" in refused.value.message_dict
    stage(copy_world, source="prod", personal={"mysql": ["customers.email", "customers.phone"]})
    with pytest.raises(ValidationError) as refused:
        start(copy_world, capture=django_capture_on_commit_callbacks, stores=["mysql"],
              options={"masking": {"customers.email": "email"}})
    assert "customers.phone" in refused.value.message_dict["masking"][0]


@pytest.mark.parametrize("kind", ["mysql", "redis", "s3"])
def test_into_production_needs_an_admin_and_the_name_and_carries_everything(
        three_store_world, django_capture_on_commit_callbacks, kind):
    world = three_store_world
    fill(world)
    stage(world, source="qa", target="prod", personal=PERSONAL)
    capture = django_capture_on_commit_callbacks
    for role in ("qa", "developer"):
        with pytest.raises(PermissionDenied):
            start(world, user=role, capture=capture, stores=[kind], confirm="qa-target")
    with pytest.raises(ValidationError, match="type the target"):
        start(world, user="admin", capture=capture, stores=[kind], confirm="qa")
    assert not DataCopy.objects.exists()
    copy = start(world, user="admin", capture=capture, stores=[kind], confirm="qa-target")
    assert copy.state == DataCopy.VERIFIED, copy.error
    event = last_start_event()
    assert event.details["policy"]["direction"] == "into-production"
    assert event.details["policy"]["stores"] == {kind: {"rule": "platform-admin-confirmed"}}
    if kind == "redis":  # nothing leaves production, so nothing is excluded
        assert world["target_redis"].get("session:2") == b"bob@corp.example"
    if kind == "s3":
        assert "private/passport-alice.pdf" in target_objects(world)


@pytest.mark.parametrize("kind", ["redis", "s3"])
def test_between_non_production_environments_nothing_is_asked_or_excluded(
        three_store_world, django_capture_on_commit_callbacks, kind):
    world = three_store_world
    fill(world)
    stage(world, personal=PERSONAL)
    copy = start(world, user="qa", capture=django_capture_on_commit_callbacks, stores=[kind])
    assert copy.state == DataCopy.VERIFIED, copy.error
    assert last_start_event().details["policy"]["stores"] == {kind: {"rule": "no-production-data"}}
    if kind == "redis":
        assert world["target_redis"].get("session:2") == b"bob@corp.example"
    else:
        assert "private/passport-alice.pdf" in target_objects(world)


def test_api_page_and_command_decide_alike(three_store_world, api_for):
    world = three_store_world
    fill(world)
    stage(world, source="prod", personal=["customers.email"])
    body = {"source": world["source"].pk, "target": world["target"].pk, "stores": ["redis"]}
    api = api_for(world["users"]["qa"])
    refused = api.post("/api/v1/data-copies/", body, format="json")
    assert refused.status_code == 400 and "stores" in refused.json()["error"]["fields"]
    forbidden = api.post("/api/v1/data-copies/", {**body, "override_reason": REASON}, format="json")
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "permission_denied"

    browser = Client()
    browser.force_login(world["users"]["qa"])
    page = browser.post(f"/environments/{world['target'].pk}/copy-data/",
                        {"source": world["source"].pk, "stores": ["redis"]})
    assert page.status_code == 200 and "does not say which Redis data is personal" in page.content.decode()

    with pytest.raises(CommandError, match="does not say which Redis data is personal"):
        call_command("copydata", "--from", "qa-source", "--to", "qa-target", "--stores", "redis", "--as", "qa",
                     stdout=io.StringIO())
    with pytest.raises(CommandError, match="Only a Platform admin"):
        call_command("copydata", "--from", "qa-source", "--to", "qa-target", "--stores", "s3", "--as", "qa",
                     "--override-reason", REASON, stdout=io.StringIO())
    assert not DataCopy.objects.exists()


def test_the_form_suggests_masking_for_the_personal_columns_of_either_form(copy_world):
    browser = Client()
    browser.force_login(copy_world["users"]["qa"])
    for personal in (["customers.email"], {"mysql": ["customers.email"], "redis": ["session:*"]}):
        stage(copy_world, personal=personal)
        form = browser.get(f"/environments/{copy_world['target'].pk}/copy-data/").content.decode()
        assert "customers.email = email" in form and "redis = " not in form and "session:*" not in form


@pytest.mark.parametrize(("declared", "expected"), [
    ([], {}),  # the default, nothing declared: every store unclassified, MariaDB included
    ({"mysql": []}, {"mysql": ()}),  # MariaDB declared to hold nothing personal
    (["customers.email"], {"mysql": ("customers.email",)}),
    ({"redis": "session:*", "s3": [], "ftp": ["x"]}, {"redis": ("session:*",), "s3": ()}),
])
def test_what_a_blueprint_declares(declared, expected):
    assert dict(PersonalData.of(Blueprint(name="b", personal_data=declared)).declared) == expected
