"""The role × page/endpoint matrix, and the object-level rules."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from portal.accounts import authz, roles
from tests.factories import JobFactory, TeamFactory, UserFactory

PAGES = ["/", "/environments/", "/clusters/", "/data-copies/", "/jobs/", "/audit/", "/audit/export.csv",
         "/api/v1/me/", "/api/v1/teams/", "/api/v1/jobs/", "/api/v1/audit-events/", "/api/v1/audit-events/export/"]
AUDIT_PAGES = {"/audit/", "/audit/export.csv", "/api/v1/audit-events/", "/api/v1/audit-events/export/"}
WHO_SEES_AUDIT = {"manager", "admin"}
# An account with no role reaches only its own pages.
NO_ROLE_PAGES = {"/", "/api/v1/me/"}


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["developer", "qa", "manager", "admin", "outsider"])
@pytest.mark.parametrize("path", PAGES)
def test_role_matrix(users, who, path):
    client = Client()
    client.force_login(users[who])
    expected = 200 if path not in AUDIT_PAGES or who in WHO_SEES_AUDIT else 403
    if who == "outsider":
        expected = 200 if path in NO_ROLE_PAGES else 403
    assert client.get(path).status_code == expected


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_anonymous_is_sent_to_login_or_refused(path):
    response = Client().get(path)
    if path.startswith("/api/"):
        assert response.status_code in (401, 403)
        assert "error" in response.json()
    else:
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


@pytest.mark.django_db
def test_roles_created_by_migration_with_permissions():
    groups = {g.name: g for g in Group.objects.all()}
    assert set(roles.ALL_ROLES) <= set(groups)
    assert groups[roles.MANAGERS].permissions.filter(codename="view_auditevent").exists()
    assert not groups[roles.DEVELOPERS].permissions.filter(codename="view_auditevent").exists()
    assert groups[roles.PLATFORM_ADMINS].permissions.filter(codename="add_team").exists()


@pytest.mark.django_db
def test_object_rules_owner_team_stage(users, team):
    other_team = TeamFactory(slug="search")
    own_job = JobFactory(started_by=users["developer"])
    team_job = JobFactory(team=team)
    foreign_job = JobFactory(team=other_team, started_by=UserFactory(username="stranger"))
    dev, manager, admin = users["developer"], users["manager"], users["admin"]
    assert authz.job_can(dev, authz.VIEW, own_job) and authz.job_can(dev, authz.VIEW, team_job)
    assert not authz.job_can(dev, authz.VIEW, foreign_job)
    assert authz.job_can(manager, authz.VIEW, foreign_job) and not authz.job_can(manager, authz.CHANGE, foreign_job)
    assert authz.job_can(admin, authz.CHANGE, foreign_job)

    class ProdThing:
        owner_id = dev.pk
        team_id = team.pk
        stage = "prod"

    assert authz.environment_can(dev, authz.VIEW, ProdThing())
    assert not authz.environment_can(dev, authz.CHANGE, ProdThing())
    assert authz.environment_can(admin, authz.CHANGE, ProdThing())


@pytest.mark.django_db
def test_new_objects_are_judged_by_their_target_team_not_the_caller(users, team):
    """Creating into a team: membership of THAT team decides (the caller is not "the owner" of it)."""
    other_team = TeamFactory(slug="search")
    dev, qa, manager, admin = users["developer"], users["qa"], users["manager"], users["admin"]
    for who in (dev, qa):
        assert authz.environment_can(who, authz.CREATE, authz.Target(team_id=team.pk, stage="qa"))
        assert not authz.environment_can(who, authz.CREATE, authz.Target(team_id=other_team.pk, stage="qa"))
        assert not authz.environment_can(who, authz.CREATE, authz.Target(team_id=team.pk, stage="prod"))
    assert not authz.environment_can(manager, authz.CREATE, authz.Target(team_id=team.pk, stage="qa"))
    assert authz.environment_can(admin, authz.CREATE, authz.Target(team_id=other_team.pk, stage="prod"))
    # A team member without any role gets nothing, not even their team's objects.
    bare = UserFactory(username="bare", teams=[team])
    assert not authz.environment_can(bare, authz.VIEW, JobFactory(team=team))
