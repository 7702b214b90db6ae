"""Audit filters are choices (issue 13, point 9): selects of known actions and object types, completion
for actors and teams, and a one-click toggle hiding routine events that the CSV and the pages respect."""

import csv
import io

import pytest
from django.test import Client

from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.audit.services import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(users):
    ada = Actor(name="admin")
    audit_record(actor=ada, action="user.login", object_type="auth.user", object_id="1")
    audit_record(actor=ada, action="user.login_failed", object_type="auth.user", outcome=AuditEvent.FAILURE)
    audit_record(actor=ada, action="environment.create", object_type="environments.environment", object_id="7",
                 team_slug="payments")
    audit_record(actor=ada, action="environment.logs.live", object_type="environments.environment",
                 object_id="7")
    audit_record(actor=Actor.system("health"), action="cluster.health_check", object_type="clusters.cluster")
    audit_record(actor=Actor.system("health"), action="cluster.health_check", object_type="clusters.cluster",
                 outcome=AuditEvent.FAILURE, error="unreachable")
    audit_record(actor=ada, action="team.create", object_type="accounts.team", team_slug="payments")


def manager(users) -> Client:
    client = Client()
    client.force_login(users["manager"])
    return client


def test_action_and_object_type_are_selects_of_known_values_and_inputs_offer_completion(users, trail):
    page = manager(users).get("/audit/")
    html = page.content.decode()
    form = page.context["filter"].form
    actions = dict(form.fields["action"].widget.choices)
    assert [value for value, _ in actions["environment"]] == ["environment.", "environment.create",
                                                              "environment.logs.live"]
    assert [value for value, _ in actions["user"]] == ["user.", "user.login", "user.login_failed"]
    assert '<select name="action"' in html and '<select name="object_type"' in html
    assert '<option value="clusters.cluster">clusters.cluster</option>' in html
    assert 'list="audit-actors"' in html and 'list="audit-teams"' in html
    assert '<option value="manager"></option>' in html  # users
    assert '<option value="system:health"></option>' in html  # system actors found in the trail
    assert '<option value="payments"></option>' in html  # teams


def test_selecting_an_action_is_exact_and_a_kind_selects_all_of_it(users, trail):
    client = manager(users)
    login = client.get("/audit/", {"action": "user.login"}).context["page"].object_list
    assert {e.action for e in login} == {"user.login"}  # not user.login_failed
    kind = client.get("/audit/", {"action": "environment."}).context["page"].object_list
    assert sorted(e.action for e in kind) == ["environment.create", "environment.logs.live"]
    typed = client.get("/audit/", {"object_type": "clusters.cluster"}).context["page"].object_list
    assert len(typed) == 2
    # A value the data no longer holds still shows as chosen, and the API keeps prefix filters.
    gone = client.get("/audit/", {"action": "cluster.retired"}).content.decode()
    assert '<option value="cluster.retired" selected>' in gone
    api = client.get("/api/v1/audit-events/", {"action": "environment"}).json()
    assert api["count"] == 2


def test_hide_noise_keeps_failures_and_reaches_the_csv_and_the_pages(users, trail):
    client = manager(users)
    shown = client.get("/audit/", {"hide_noise": "on"})
    assert sorted(e.action for e in shown.context["page"].object_list) == [
        "cluster.health_check", "environment.create", "team.create", "user.login_failed"]
    assert [e.outcome for e in shown.context["page"].object_list if e.action == "cluster.health_check"] == [
        "failure"]
    html = shown.content.decode()
    assert 'name="hide_noise"' in html and "checked" in html
    assert 'href="/audit/export.csv?hide_noise=on"' in html
    export = client.get("/audit/export.csv", {"hide_noise": "on"})
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert sorted(r["action"] for r in rows) == ["cluster.health_check", "environment.create", "team.create",
                                                 "user.login_failed"]
    for _ in range(60):
        audit_record(actor=Actor(name="admin"), action="user.login")
        audit_record(actor=Actor(name="admin"), action="environment.destroy")
    quiet = client.get("/audit/", {"hide_noise": "on"})
    assert quiet.context["page"].paginator.count == 64  # 60 sign-ins more, none counted
    assert 'href="?hide_noise=on&page=2"' in quiet.content.decode()  # the next page keeps the toggle  # the next page keeps the toggle
    assert client.get("/audit/").context["page"].paginator.count == 64 + 60 + 4
    api = client.get("/api/v1/audit-events/", {"hide_noise": "true"}).json()
    assert api["count"] == 64
