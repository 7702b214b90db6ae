"""Users and teams managed by Platform admins: the services' rules, guard rails and audit events."""

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.exceptions import PermissionDenied, ValidationError

from portal.accounts import roles, services
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return UserFactory(username="ada", roles=[roles.PLATFORM_ADMINS])


def act(user):
    return {"actor": Actor.for_user(user), "by": user}


def test_create_user_with_roles_teams_and_a_one_time_password(admin):
    team = TeamFactory(slug="payments")
    user, creds = services.user_create(**act(admin), username="quinn", email="q@example.test",
                                       role_names=[roles.QA], teams=[team])
    assert creds.password and not creds.set_password_path
    assert authenticate(username="quinn", password=creds.password) == user
    assert list(user.groups.values_list("name", flat=True)) == [roles.QA]
    assert list(user.teams.all()) == [team]
    event = AuditEvent.objects.get(action="user.create")
    assert (event.actor_name, event.object_type, event.object_id, event.outcome) == (
        "ada", "auth.user", str(user.pk), "success")
    changes = event.details["changes"]
    assert changes["username"] == {"before": None, "after": "quinn"}
    assert changes["roles"] == {"before": None, "after": [roles.QA]}
    assert changes["teams"] == {"before": None, "after": ["payments"]}
    assert creds.password not in str(event.details)


def test_create_with_a_set_password_link_leaves_no_usable_password(admin):
    user, creds = services.user_create(**act(admin), username="lin", credentials=services.LINK)
    assert creds.set_password_path.startswith("/password/set/") and not creds.password
    user.refresh_from_db()
    assert not user.has_usable_password()


@pytest.mark.parametrize(("username", "message"), [
    ("a b", "is not a valid username"), ("-dash", "is not a valid username"), ("x", "is not a valid username"),
    ("ADA", "The username 'ada' is taken."),
])
def test_usernames_are_validated_with_a_clear_message(admin, username, message):
    with pytest.raises(ValidationError) as caught:
        services.user_create(**act(admin), username=username)
    assert message in caught.value.message_dict["username"][0]
    failed = AuditEvent.objects.get(action="user.create")
    assert failed.outcome == "failure" and failed.actor_name == "ada"


def test_unknown_role_and_bad_email_refused(admin):
    with pytest.raises(ValidationError, match="Unknown role"):
        services.user_create(**act(admin), username="bob", role_names=["Wizards"])
    with pytest.raises(ValidationError, match="not a valid e-mail"):
        services.user_create(**act(admin), username="bob", email="nope")
    assert not get_user_model().objects.filter(username="bob").exists()


def test_non_admins_cannot_manage_people():
    for role in (roles.MANAGERS, roles.QA, roles.DEVELOPERS):
        someone = UserFactory(roles=[role])
        with pytest.raises(PermissionDenied, match="Only Platform admins manage users and teams"):
            services.user_create(**act(someone), username=f"x-{someone.pk}")
        with pytest.raises(PermissionDenied):
            services.team_create(**act(someone), slug=f"t-{someone.pk}", name="T")
    assert AuditEvent.objects.filter(outcome="failure").count() == 6


def test_update_roles_and_teams_records_before_and_after(admin):
    payments, search = TeamFactory(slug="payments"), TeamFactory(slug="search")
    user = UserFactory(username="dev", roles=[roles.DEVELOPERS], teams=[payments])
    services.user_update(**act(admin), user=user, first_name="Dee", role_names=[roles.QA, roles.DEVELOPERS],
                         teams=[search])
    event = AuditEvent.objects.get(action="user.update")
    assert event.details["changes"] == {
        "first_name": {"before": "", "after": "Dee"},
        "roles": {"before": [roles.DEVELOPERS], "after": [roles.DEVELOPERS, roles.QA]},
        "teams": {"before": ["payments"], "after": ["search"]},
    }


def test_deactivate_and_reactivate(admin):
    user = UserFactory(username="quinn", roles=[roles.QA])
    services.user_deactivate(**act(admin), user=user)
    assert authenticate(username="quinn", password="pw-for-tests-1") is None
    services.user_reactivate(**act(admin), user=user)
    assert authenticate(username="quinn", password="pw-for-tests-1") == user
    actions = list(AuditEvent.objects.filter(action__startswith="user.").exclude(action="user.login_failed")
                   .order_by("id").values_list("action", "outcome"))
    assert actions == [("user.deactivate", "success"), ("user.reactivate", "success")]
    assert AuditEvent.objects.get(action="user.deactivate").details["changes"] == {
        "is_active": {"before": True, "after": False}}


def test_guard_rails_self_and_last_platform_admin(admin):
    with pytest.raises(ValidationError, match="You cannot deactivate yourself"):
        services.user_deactivate(**act(admin), user=admin)
    superuser = get_user_model().objects.create_superuser("root", password="x-long-password-1")
    # The superuser counts as an admin, so ada is not the last one… until the superuser is deactivated.
    services.user_update(**act(superuser), user=admin, role_names=[roles.QA])
    services.user_update(**act(superuser), user=admin, role_names=[roles.PLATFORM_ADMINS])
    other = UserFactory(username="bea", roles=[roles.PLATFORM_ADMINS])
    services.user_deactivate(**act(other), user=superuser)
    services.user_deactivate(**act(admin), user=other)
    with pytest.raises(ValidationError, match="ada is the last active Platform admin"):
        services.user_update(**act(superuser), user=admin, role_names=[roles.QA])
    assert admin.groups.filter(name=roles.PLATFORM_ADMINS).exists()
    assert AuditEvent.objects.filter(action="user.update", outcome="failure").count() == 1


def test_password_reset_gives_new_credentials(admin):
    user = UserFactory(username="quinn")
    creds = services.user_password_reset(**act(admin), user=user)
    assert authenticate(username="quinn", password=creds.password) == user
    assert authenticate(username="quinn", password="pw-for-tests-1") is None
    assert AuditEvent.objects.get(action="user.password_reset").details == {"credentials": "password"}


def test_team_create_and_update(admin):
    quinn, dev = UserFactory(username="quinn"), UserFactory(username="dev")
    team = services.team_create(**act(admin), slug="payments", name="Payments", members=[quinn])
    services.team_update(**act(admin), team=team, name="Payments team", members=[quinn, dev])
    created, updated = AuditEvent.objects.filter(action__startswith="team.").order_by("id")
    assert created.team_slug == "payments" and created.object_type == "accounts.team"
    assert created.details["changes"]["members"] == {"before": None, "after": ["quinn"]}
    assert updated.details["changes"] == {"name": {"before": "Payments", "after": "Payments team"},
                                          "members": {"before": ["quinn"], "after": ["dev", "quinn"]}}
    with pytest.raises(ValidationError, match="already exists"):
        services.team_create(**act(admin), slug="payments", name="Again")
    with pytest.raises(ValidationError, match="not a valid team slug"):
        services.team_create(**act(admin), slug="Bad Slug", name="Bad")
