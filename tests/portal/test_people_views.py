"""The People pages (Platform admins only) and the Django admin screens, whose edits reach the audit trail."""

import csv
import io

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client

from portal.accounts import roles
from portal.accounts.models import Team
from portal.audit.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(users):
    return signed_in(users["admin"])


@pytest.mark.parametrize("who", ["developer", "qa", "manager", "outsider"])
def test_non_admins_get_403_and_no_people_link(users, who):
    client = signed_in(users[who])
    for path in ("/people/", "/people/teams/", "/people/users/new/", f"/people/users/{users['qa'].pk}/",
                 "/people/users/export.csv", "/people/teams/new/"):
        assert client.get(path).status_code == 403, path
    assert client.post(f"/people/users/{users['qa'].pk}/deactivate/").status_code == 403
    assert User.objects.get(username="qa").is_active
    assert ">People</a>" not in client.get("/").content.decode()


def test_admin_sees_people_in_the_nav_and_lists_filter_and_export(admin_client, users):
    UserFactory(username="gone", is_active=False)
    assert ">People</a>" in admin_client.get("/").content.decode()
    page = admin_client.get("/people/", {"status": "inactive"}).content.decode()
    assert "gone" in page and ">qa</a>" not in page
    export = admin_client.get("/people/users/export.csv", {"role": roles.QA})
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert [r["username"] for r in rows] == ["qa"] and rows[0]["teams"] == "payments"
    teams = admin_client.get("/people/teams/export.csv")
    assert "payments,Payments" in b"".join(teams.streaming_content).decode()
    assert admin_client.get("/people/nope/export.csv").status_code == 404


def test_create_user_shows_the_password_once_and_errors_on_the_form(admin_client, team):
    bad = admin_client.post("/people/users/new/", {"username": "has space", "credentials": "password"})
    assert bad.status_code == 200 and "is not a valid username" in bad.content.decode()
    made = admin_client.post("/people/users/new/", {"username": "quinn2", "roles": [roles.QA], "teams": [team.pk],
                                                    "credentials": "password"})
    assert made.status_code == 200 and made["Cache-Control"] == "no-store"
    password = made.context["password"]
    assert password in made.content.decode()
    assert authenticate(username="quinn2", password=password) is not None
    user = User.objects.get(username="quinn2")
    assert password not in admin_client.get(f"/people/users/{user.pk}/").content.decode()


def test_edit_deactivate_reactivate_and_guard_rails_on_the_page(admin_client, users, team):
    qa = users["qa"]
    saved = admin_client.post(f"/people/users/{qa.pk}/", {"email": "qa@example.test", "roles": [roles.DEVELOPERS]})
    assert saved.status_code == 302
    assert list(qa.groups.values_list("name", flat=True)) == [roles.DEVELOPERS] and not qa.teams.exists()
    admin_client.post(f"/people/users/{qa.pk}/deactivate/")
    assert not User.objects.get(pk=qa.pk).is_active
    admin_client.post(f"/people/users/{qa.pk}/reactivate/")
    assert User.objects.get(pk=qa.pk).is_active
    me = users["admin"]
    refused = admin_client.post(f"/people/users/{me.pk}/deactivate/", follow=True)
    assert "You cannot deactivate yourself." in refused.content.decode()
    last = admin_client.post(f"/people/users/{me.pk}/", {"roles": [roles.QA]})
    assert "last active Platform admin" in last.content.decode()
    link = admin_client.post(f"/people/users/{qa.pk}/password/", {"credentials": "link"})
    assert "/password/set/" in link.context["link"]


def test_set_password_link_works_once_and_is_audited(admin_client, users):
    made = admin_client.post("/people/users/new/", {"username": "lin", "credentials": "link"})
    path = made.context["link"].removeprefix("http://testserver")
    anonymous = Client()
    form = anonymous.get(path, follow=True)
    assert form.status_code == 200 and "Set your password" in form.content.decode()
    done = anonymous.post(form.redirect_chain[-1][0], {"new_password1": "a-fine-pass-42", "new_password2":
                                                       "a-fine-pass-42"}, follow=True)
    assert "Password set. Sign in with it." in done.content.decode()
    assert authenticate(username="lin", password="a-fine-pass-42") is not None
    assert AuditEvent.objects.filter(action="user.password_set", actor_name="lin").exists()
    assert "no longer valid" in Client().get(path, follow=True).content.decode()


def test_team_pages_create_and_edit(admin_client, users):
    made = admin_client.post("/people/teams/new/", {"slug": "search", "name": "Search",
                                                    "members": [users["qa"].pk]})
    assert made.status_code == 302
    team = Team.objects.get(slug="search")
    admin_client.post(f"/people/teams/{team.pk}/", {"slug": "renamed", "name": "Search & find", "members": []})
    team.refresh_from_db()
    assert (team.slug, team.name, team.members.count()) == ("search", "Search & find", 0)
    dup = admin_client.post("/people/teams/new/", {"slug": "search", "name": "Again"})
    assert "already exists" in dup.content.decode()


def test_django_admin_edits_reach_the_audit_trail(users):
    root = User.objects.create_superuser("root", password="root-pass-123456")
    client = signed_in(root)
    qa = users["qa"]
    qa_group = Group.objects.get(name=roles.QA)
    admin_group = Group.objects.get(name=roles.PLATFORM_ADMINS)
    form = {"username": "qa", "email": "changed@example.test", "first_name": "", "last_name": "",
            "is_active": "on", "groups": [qa_group.pk, admin_group.pk], "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00", "initial-date_joined_0": "2026-01-01", "initial-date_joined_1": "00:00:00"}
    response = client.post(f"/admin/auth/user/{qa.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.get(action="user.update")
    assert event.actor_name == "root" and event.details["via"] == "django-admin"
    assert event.details["changes"]["roles"] == {"before": [roles.QA], "after": [roles.PLATFORM_ADMINS, roles.QA]}
    assert event.details["changes"]["email"]["after"] == "changed@example.test"

    team = Team.objects.get(slug="payments")
    client.post(f"/admin/accounts/team/{team.pk}/change/", {"slug": "payments", "name": "Payments",
                                                            "members": [qa.pk]})
    team_event = AuditEvent.objects.get(action="team.update")
    assert team_event.team_slug == "payments"
    assert team_event.details["changes"]["members"]["after"] == ["qa"]

    perm = Permission.objects.get(codename="view_team")
    client.post("/admin/auth/group/add/", {"name": "Auditors", "permissions": [perm.pk]})
    assert AuditEvent.objects.get(action="role.create").details["changes"]["permissions"]["after"] == [
        "accounts.view_team"]
    client.post(f"/admin/auth/user/{qa.pk}/password/", {"password1": "new-pass-98765", "password2": "new-pass-98765",
                                                          "usable_password": "true"})
    assert AuditEvent.objects.filter(action="user.update", object_id=str(qa.pk)).count() == 2
    client.post("/admin/accounts/team/", {"action": "delete_selected", "_selected_action": [team.pk], "post": "yes"})
    deleted = AuditEvent.objects.get(action="team.delete")
    assert deleted.details["changes"]["slug"] == {"before": "payments", "after": None}
    assert not Team.objects.filter(pk=team.pk).exists()


def test_people_lists_do_not_grow_queries_with_rows(admin_client, api_for, users, team, django_assert_max_num_queries):
    for n in range(50):
        UserFactory(username=f"bulk{n:02}", roles=[roles.QA], teams=[team])
    api = api_for(users["admin"])
    with django_assert_max_num_queries(12):
        first = admin_client.get("/people/", {"role": roles.QA})
    assert "Page 1 of 2 · 51 items" in first.content.decode()
    assert 'href="?role=QA&page=2"' in first.content.decode()
    with django_assert_max_num_queries(12):
        assert admin_client.get("/people/teams/").status_code == 200
    with django_assert_max_num_queries(8):
        assert api.get("/api/v1/users/").json()["count"] == 55
    with django_assert_max_num_queries(8):
        assert api.get("/api/v1/teams/").status_code == 200


def test_django_admin_keeps_the_guard_rails(users):
    root = User.objects.create_superuser("root", password="root-pass-123456")
    client = signed_in(root)
    base = {"email": "", "first_name": "", "last_name": "", "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00", "initial-date_joined_0": "2026-01-01", "initial-date_joined_1": "00:00:00"}
    # root deactivating root: refused on the form, nothing saved.
    myself = client.post(f"/admin/auth/user/{root.pk}/change/", {**base, "username": "root", "is_superuser": "on",
                                                                  "is_staff": "on"})
    assert myself.status_code == 200 and "You cannot deactivate yourself." in myself.content.decode()
    assert User.objects.get(pk=root.pk).is_active
    # Deactivating the other admin is fine while root remains one…
    admin = users["admin"]
    ok = client.post(f"/admin/auth/user/{admin.pk}/change/", {**base, "username": "admin", "groups": []})
    assert ok.status_code == 302 and not User.objects.get(pk=admin.pk).is_active
    # …but then root, the last one, cannot give up being a superuser.
    last = client.post(f"/admin/auth/user/{root.pk}/change/", {**base, "username": "root", "is_active": "on",
                                                                "is_staff": "on"})
    assert "root is the last active Platform admin" in last.content.decode()
    assert User.objects.get(pk=root.pk).is_superuser
    assert AuditEvent.objects.filter(action="user.update", object_id=str(root.pk)).count() == 0
