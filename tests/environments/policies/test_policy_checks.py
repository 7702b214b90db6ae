"""Each rule the create/clone/extend services enforce, refused with its sentence, and nothing half-created."""

import functools
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from environments.models import Environment, EnvironmentRequest, QuotaPolicy, SleepSchedule, StagePolicy
from environments.policies.policy_checks import ApprovalRequired
from environments.policies.selectors import stage_policy_for
from environments.services import environment_clone, environment_extend
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from tests.factories import TeamFactory, UserFactory
from tests.racing import race


def messages_of(exc_info) -> str:
    return " ".join(exc_info.value.messages)


def test_prod_needs_approval_by_default_and_other_stages_have_no_policy(db):
    assert stage_policy_for("prod").requires_approval and stage_policy_for("prod").pk is None
    assert stage_policy_for("qa") is None
    StagePolicy.objects.create(stage="prod", requires_approval=False)
    assert stage_policy_for("prod").requires_approval is False  # the stored row rules


def test_team_quota_refuses_with_its_sentence_and_creates_nothing(users, team, make_env):
    QuotaPolicy.objects.create(team=None, max_per_team=2)
    make_env(users["qa"], team, name="pol-a")
    make_env(users["developer"], team, name="pol-b")
    with pytest.raises(ValidationError) as refused:
        make_env(users["qa"], team, name="pol-c")
    assert messages_of(refused) == ("Team payments has 2 of 2 environments; destroy one or ask a Platform admin "
                                    "to raise the quota.")
    assert not Environment.objects.filter(name="pol-c").exists()
    assert AuditEvent.objects.filter(action="environment.create", outcome="failure").count() == 1


def test_a_teams_own_quota_beats_the_default_and_destroyed_ones_do_not_count(users, team, make_env):
    QuotaPolicy.objects.create(team=None, max_per_team=1)
    QuotaPolicy.objects.create(team=team, max_per_team=3)
    for name in ("pol-a", "pol-b", "pol-c"):
        make_env(users["qa"], team, name=name)
    with pytest.raises(ValidationError, match="3 of 3"):
        make_env(users["qa"], team, name="pol-d")
    Environment.objects.filter(name="pol-a").update(status=Environment.DESTROYED)
    assert make_env(users["qa"], team, name="pol-d").name == "pol-d"


def test_user_quota_counts_pending_requests(users, team, make_env, shop):
    QuotaPolicy.objects.create(team=None, max_per_user=1)
    blueprint, cluster = shop
    EnvironmentRequest.objects.create(requested_by=users["qa"], name="pol-p", cluster=cluster, blueprint=blueprint,
                                      stage="prod", team=team)
    with pytest.raises(ValidationError) as refused:
        make_env(users["qa"], team, name="pol-a")
    assert "qa has 1 of 1 environments" in messages_of(refused)
    assert make_env(users["developer"], team, name="pol-a")


def test_default_ttl_applied_when_none_given_and_longer_refused(users, team, make_env):
    StagePolicy.objects.create(stage="qa", default_ttl_hours=8, max_ttl_hours=72)
    before = timezone.now()
    environment = make_env(users["qa"], team, ttl_hours=None)
    assert before + timedelta(hours=8) <= environment.expires_at <= timezone.now() + timedelta(hours=8)
    with pytest.raises(ValidationError) as refused:
        make_env(users["qa"], team, name="pol-long", ttl_hours=100)
    assert refused.value.message_dict == {"ttl_hours": [
        "Environments of stage qa live at most 72 hours; choose 72 or fewer."]}
    assert not Environment.objects.filter(name="pol-long").exists()


def test_extend_beyond_the_stage_max_is_refused(users, team, make_env):
    StagePolicy.objects.create(stage="qa", max_ttl_hours=48)
    environment = make_env(users["qa"], team)
    expires = environment.expires_at
    with pytest.raises(ValidationError) as refused:
        environment_extend(actor=Actor.for_user(users["qa"]), user=users["qa"], environment=environment, hours=49)
    assert refused.value.message_dict == {"hours": [
        "Environments of stage qa live at most 48 hours; extend by 48 hours or fewer."]}
    environment.refresh_from_db()
    assert environment.expires_at == expires
    environment_extend(actor=Actor.for_user(users["qa"]), user=users["qa"], environment=environment, hours=48)


def test_allowed_roles_restrict_a_stage(users, team, make_env):
    StagePolicy.objects.create(stage="staging", allowed_roles=["QA"])
    with pytest.raises(PermissionDenied) as refused:
        make_env(users["developer"], team, stage="staging")
    assert str(refused.value) == "Only QA may create environments of stage staging."
    assert make_env(users["qa"], team, stage="staging").stage == "staging"
    assert make_env(users["admin"], team, name="pol-2", stage="staging")  # admins always may


def test_mandatory_sleep_schedule(users, team, make_env):
    StagePolicy.objects.create(stage="qa", sleep_schedule_required=True)
    with pytest.raises(ValidationError) as refused:
        make_env(users["qa"], team)
    assert messages_of(refused) == (
        "Environments of stage qa must have a sleep schedule, and none applies to team payments; ask a Platform "
        "admin to add a default schedule for the team or the stage.")
    stage_default = SleepSchedule.objects.create(stage="qa", sleep_cron="0 20 * * 1-5", wake_cron="0 7 * * 1-5")
    # The team's own default is more specific: disabled, it leaves no schedule.
    team_default = SleepSchedule.objects.create(team=team, stage="qa", sleep_cron="0 20 * * *", enabled=False)
    with pytest.raises(ValidationError, match="must have a sleep schedule"):
        make_env(users["qa"], team)
    team_default.delete()
    assert stage_default.enabled and make_env(users["qa"], team).name == "pol-1"


def test_approval_stage_refuses_direct_creation_for_non_admins(users, team, make_env):
    StagePolicy.objects.create(stage="staging", requires_approval=True)
    with pytest.raises(ApprovalRequired, match="need a Platform admin's approval"):
        make_env(users["qa"], team, stage="staging")
    assert make_env(users["admin"], team, stage="staging").stage == "staging"  # the approvers create at once


def test_clone_meets_the_same_rules(users, team, make_env):
    source = make_env(users["qa"], team)
    QuotaPolicy.objects.create(team=None, max_per_user=1)
    with pytest.raises(ValidationError, match="qa has 1 of 1"):
        environment_clone(actor=Actor.for_user(users["qa"]), user=users["qa"], source=source, name="pol-clone",
                          team=team)
    assert not Environment.objects.filter(name="pol-clone").exists()


@pytest.mark.django_db(transaction=True)
def test_two_creations_racing_for_the_last_place_let_exactly_one_through(make_env):
    team = TeamFactory(slug="pol-race")
    racers = [UserFactory(username=f"pol-racer{n}", roles=["QA"], teams=[team]) for n in range(4)]
    QuotaPolicy.objects.create(team=team, max_per_team=1)
    outcomes = race(*[functools.partial(make_env, user, team, name=f"pol-race-{n}") for n, user in enumerate(racers)])
    assert sum(isinstance(o, Environment) for o in outcomes) == 1, outcomes
    assert all(isinstance(o, ValidationError) and "has 1 of 1 environments" in str(o)
               for o in outcomes if not isinstance(o, Environment))
    assert Environment.objects.filter(team=team).count() == 1
