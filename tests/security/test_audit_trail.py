"""Class 9: the audit trail is complete and can't be spammed or dodged.

Failed sign-ins cannot flood it with names and request ids of the sender's choosing; the database
refuses UPDATE, DELETE and TRUNCATE on PostgreSQL and SQLite alike; every Django admin screen
writes to it. (Every page of production log history: tests/environments/logs/test_history.py.)
"""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client

from environments.models import Blueprint, Component, Environment, Registry
from portal.audit.admin import AuditedAdminMixin
from portal.audit.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]
CLIENT_REQUEST_ID = "chosen-by-the-client-0001"


@pytest.fixture(autouse=True)
def fresh_throttles():
    cache.clear()
    yield
    cache.clear()


# --- failed sign-ins ---------------------------------------------------------------------------------------


def test_failed_sign_ins_leave_one_lockout_event_not_a_row_each(users):
    client = Client(REMOTE_ADDR="203.0.113.40", HTTP_X_REQUEST_ID=CLIENT_REQUEST_ID)
    for n in range(20):  # names of the sender's choosing: no account has them (below the address limit)
        client.post("/login/", {"username": f"ceo-approved-{n}", "password": "x"})
    for n in range(12):  # a real account: locked at the 5th, refused after without a trace each
        client.post("/login/", {"username": "developer", "password": f"guess-{n}"})
    events = list(AuditEvent.objects.all())
    assert len(events) == 1
    locked = events[0]
    assert (locked.action, locked.outcome, locked.actor_name, locked.actor_id) == (
        "user.locked_out", AuditEvent.FAILURE, "anonymous", None)
    assert locked.object_repr == "developer" and locked.object_id == str(users["developer"].pk)
    assert locked.source_ip == "203.0.113.40" and locked.details == {"failures": 5}
    assert locked.request_id != CLIENT_REQUEST_ID
    # The guesses are counted (and cleared after the cool-off) in axes' table, one row per name and address.
    assert AccessAttempt.objects.count() == 21


def test_a_client_request_id_is_only_taken_from_a_trusted_proxy(users, settings):
    client = Client(REMOTE_ADDR="203.0.113.41", HTTP_X_REQUEST_ID=CLIENT_REQUEST_ID)
    client.post("/login/", {"username": "developer", "password": "pw-for-tests-1"})
    assert AuditEvent.objects.get(action="user.login").request_id != CLIENT_REQUEST_ID
    client.post("/logout/")

    settings.SLIPWAY_TRUSTED_PROXIES = 1
    proxied = Client(REMOTE_ADDR="192.0.2.1", HTTP_X_REQUEST_ID="set-by-the-proxy-0001",
                     HTTP_X_FORWARDED_FOR="198.51.100.9")
    response = proxied.post("/login/", {"username": "developer", "password": "pw-for-tests-1"})
    assert response["X-Request-ID"] == "set-by-the-proxy-0001"
    event = AuditEvent.objects.filter(action="user.login").latest("id")
    assert (event.request_id, event.source_ip) == ("set-by-the-proxy-0001", "198.51.100.9")


# --- the database refuses to rewrite history -----------------------------------------------------------------


@pytest.fixture
def one_event(db):
    return AuditEvent.objects.create(actor_name="ada", action="environment.create")


@pytest.mark.parametrize("statement", [
    "UPDATE audit_auditevent SET actor_name = 'mallory'",
    "DELETE FROM audit_auditevent",
    "TRUNCATE audit_auditevent",
])
def test_postgres_refuses_update_delete_and_truncate(one_event, statement):
    if connection.vendor != "postgresql":
        pytest.skip("the suite's database is PostgreSQL; SQLite is checked below")
    with connection.cursor() as cursor:
        # The test database lets Django's flush truncate (tests/conftest.py); turn the refusal back on
        # for this test's transaction, which is rolled back afterwards.
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_auditevent_no_truncate")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            cursor.execute(statement)
    assert AuditEvent.objects.filter(pk=one_event.pk, actor_name="ada").exists()


def test_sqlite_make_run_database_refuses_update_and_delete(tmp_path):
    """`make run`'s database, migrated from scratch the way `make run` does, refuses too."""
    database = tmp_path / "slipway.sqlite3"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DATABASE_URL": f"sqlite:///{database}",
           "SLIPWAY_VAR_DIR": str(tmp_path / "var")}
    env.pop("SLIPWAY_ENV", None)
    migrated = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    with sqlite3.connect(database) as db:
        db.execute("INSERT INTO audit_auditevent (timestamp, actor_name, actor_kind, team_slug, action, object_type,"
                   " object_id, object_repr, details, outcome, error, request_id)"
                   " VALUES ('2026-01-01', 'ada', 'user', '', 'environment.create', '', '', '', '{}', 'success',"
                   " '', 'r1')")
        for statement in ("UPDATE audit_auditevent SET actor_name = 'mallory'", "DELETE FROM audit_auditevent"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                db.execute(statement)
        assert db.execute("SELECT actor_name FROM audit_auditevent").fetchall() == [("ada",)]
        # The sign-in lockout's tables are there too.
        assert db.execute("SELECT count(*) FROM axes_accessattempt").fetchone() == (0,)


# --- the Django admin --------------------------------------------------------------------------------------


def test_every_admin_screen_writes_to_the_audit_trail():
    unaudited = [model._meta.label for model in apps.get_models() if admin.site.is_registered(model)
                 and not isinstance(admin.site.get_model_admin(model), AuditedAdminMixin)]
    assert unaudited == []


@pytest.fixture
def root_client(db):
    root = get_user_model().objects.create_superuser("root", password="root-pass-123456")
    client = Client()
    client.force_login(root)
    return client


def test_admin_edits_of_the_catalog_are_audited(root_client):
    web = Component.objects.create(name="web", image_repository="shop/web")
    api = Component.objects.create(name="api", image_repository="shop/api")
    blueprint = Blueprint.objects.create(name="shop")
    blueprint.components.add(web)
    response = root_client.post(f"/admin/environments/blueprint/{blueprint.pk}/change/", {
        "name": "shop", "version": "1", "description": "", "components": [web.pk, api.pk],
        "backing_services": "[]", "stage_overrides": "{}", "personal_data": "[]"})
    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.get(action="blueprint.update")
    assert event.actor_name == "root" and event.details["via"] == "django-admin"
    assert event.details["changes"] == {"components": {"before": ["web"], "after": ["api", "web"]}}

    registry = Registry.objects.create(name="hub", kind=Registry.V2, url="https://hub.example.test",
                                       credentials='{"token": "tok-must-not-leak"}')
    root_client.post(f"/admin/environments/registry/{registry.pk}/change/",
                     {"name": "hub", "kind": "v2", "url": "https://elsewhere.example.test", "region": ""})
    changed = AuditEvent.objects.get(action="registry.update")
    assert changed.details["changes"]["url"]["after"] == "https://elsewhere.example.test"
    root_client.post("/admin/environments/component/", {"action": "delete_selected", "_selected_action": [api.pk],
                                                        "post": "yes"})
    assert AuditEvent.objects.get(action="component.delete").details["changes"]["name"]["before"] == "api"
    assert "tok-must-not-leak" not in json.dumps(list(AuditEvent.objects.values("details", "object_repr")))


def test_environments_cannot_be_deleted_behind_the_services_back(root_client, users):
    assert root_client.get("/admin/environments/environment/add/").status_code == 403
    # (No environment row is needed: the admin refuses the delete view for any id before looking it up.)
    assert not admin.site.get_model_admin(Environment).has_delete_permission(None)


def test_unlocking_from_the_admin_is_audited(root_client, users):
    guesser = Client(REMOTE_ADDR="203.0.113.42")
    for n in range(5):
        guesser.post("/login/", {"username": "developer", "password": f"guess-{n}"})
    attempt = AccessAttempt.objects.get(username="developer")
    root_client.post("/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": [attempt.pk],
                                                   "post": "yes"})
    event = AuditEvent.objects.get(action="sign_in_lockout.delete")
    assert event.actor_name == "root"
    assert event.details["changes"]["username"]["before"] == "developer"
    assert "post_data" not in event.details["changes"]
    guesser.post("/login/", {"username": "developer", "password": "pw-for-tests-1"})
    assert "_auth_user_id" in guesser.session


def test_management_commands_that_write_leave_a_trace(db):
    call_command("seed_demo_blueprint", verbosity=0)
    event = AuditEvent.objects.get(action="blueprint.create")
    assert (event.actor_name, event.object_repr) == ("system:seed-demo", "shop v1")
    call_command("seed_demo_blueprint", verbosity=0)  # idempotent: nothing new, nothing audited
    assert AuditEvent.objects.filter(action="blueprint.create").count() == 1
