"""Approval for production: ask, approve (created as the requester's), refuse with a reason, cancel."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from environments.models import Environment, EnvironmentRequest, QuotaPolicy, SleepState, StagePolicy
from environments.policies.environment_requests import (
    environment_request_approve,
    environment_request_cancel,
    environment_request_create,
    environment_request_refuse,
)
from environments.policies.services import environments_ttl_extend_on_activity
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from tests.environments.test_services import VERSIONS


@pytest.fixture
def ask(shop, team):
    def make(user, **overrides):
        blueprint, cluster = shop
        kwargs = {"name": "pol-prod", "stage": "prod", "versions": dict(VERSIONS), "team": team} | overrides
        return environment_request_create(actor=Actor.for_user(user), user=user, cluster=cluster,
                                          blueprint=blueprint, **kwargs)
    return make


def actions() -> list[tuple[str, str]]:
    return list(AuditEvent.objects.exclude(action__startswith="blueprint").order_by("pk")
                .values_list("action", "outcome"))


def test_developer_asks_admin_approves_and_the_requester_owns_it(users, ask):
    request = ask(users["developer"], justification="release 3")
    assert request.state == "pending" and not Environment.objects.exists()
    environment = environment_request_approve(actor=Actor.for_user(users["admin"]), user=users["admin"],
                                              request=request)
    request.refresh_from_db()
    assert (request.state, request.decided_by, request.environment) == ("approved", users["admin"], environment)
    assert (environment.owner, environment.stage, environment.name) == (users["developer"], "prod", "pol-prod")
    assert actions() == [("environment.request", "success"), ("environment_request.state_changed", "success"),
                         ("environment.create", "success"), ("environment_request.approve", "success")]
    assert AuditEvent.objects.get(action="environment.create").actor_name == "admin"  # the owner: developer
    with pytest.raises(ValidationError, match="already approved"):
        environment_request_approve(actor=Actor.for_user(users["admin"]), user=users["admin"], request=request)


def test_refuse_needs_a_reason_and_only_admins_decide(users, ask):
    request = ask(users["developer"])
    with pytest.raises(PermissionDenied):
        environment_request_approve(actor=Actor.for_user(users["qa"]), user=users["qa"], request=request)
    with pytest.raises(ValidationError) as refused:
        environment_request_refuse(actor=Actor.for_user(users["admin"]), user=users["admin"], request=request,
                                   reason="  ")
    assert refused.value.message_dict == {"reason": ["Give the reason for refusing; the requester reads it."]}
    environment_request_refuse(actor=Actor.for_user(users["admin"]), user=users["admin"], request=request,
                               reason="Use staging first.")
    request.refresh_from_db()
    assert (request.state, request.decision_reason, request.decided_by) == ("refused", "Use staging first.",
                                                                          users["admin"])
    assert ("environment_request.refuse", "success") in actions()
    with pytest.raises(ValidationError, match="already refused"):
        environment_request_cancel(actor=Actor.for_user(users["developer"]), user=users["developer"],
                                   request=request)


def test_the_requester_cancels_others_may_not(users, ask):
    request = ask(users["developer"])
    with pytest.raises(PermissionDenied):
        environment_request_cancel(actor=Actor.for_user(users["qa"]), user=users["qa"], request=request)
    environment_request_cancel(actor=Actor.for_user(users["developer"]), user=users["developer"], request=request)
    request.refresh_from_db()
    assert request.state == "cancelled"
    assert ("environment_request.cancel", "success") in actions()
    assert ask(users["developer"]).state == "pending"  # the name is free again


def test_asking_is_checked_like_creating(users, ask, team):
    with pytest.raises(PermissionDenied):
        ask(users["manager"])
    with pytest.raises(ValidationError, match="need no approval"):
        ask(users["developer"], stage="qa")
    with pytest.raises(ValidationError, match="Use lower-case letters"):
        ask(users["developer"], name="Not A Name")
    ask(users["developer"])
    with pytest.raises(ValidationError, match="already waiting for approval"):
        ask(users["qa"])
    assert EnvironmentRequest.objects.count() == 1
    assert AuditEvent.objects.filter(action="environment.request", outcome="failure").count() == 4


def test_approval_checks_the_quota_again_and_leaves_the_request_pending(users, ask, make_env, team):
    request = ask(users["developer"])
    QuotaPolicy.objects.create(team=None, max_per_team=1)  # the request itself holds the only place…
    with pytest.raises(ValidationError, match="Team payments has 1 of 1"):
        ask(users["qa"], name="pol-prod-2")
    QuotaPolicy.objects.filter(team=None).update(max_per_team=2)
    ask(users["qa"], name="pol-prod-2")  # …now two: the second request takes the other
    QuotaPolicy.objects.filter(team=None).update(max_per_team=1)  # lowered meanwhile
    with pytest.raises(ValidationError, match="has 1 of 1 environments"):
        environment_request_approve(actor=Actor.for_user(users["admin"]), user=users["admin"], request=request)
    request.refresh_from_db()
    assert request.state == "pending" and request.environment is None
    assert not Environment.objects.exists()
    assert ("environment_request.approve", "failure") in actions()


def test_approval_checks_the_name_again(users, ask, make_env, team):
    request = ask(users["developer"])
    make_env(users["admin"], team, name="pol-prod", stage="prod")
    with pytest.raises(ValidationError, match="already exists"):
        environment_request_approve(actor=Actor.for_user(users["admin"]), user=users["admin"], request=request)
    request.refresh_from_db()
    assert request.state == "pending"


def test_ttl_extends_on_activity_once(users, team, make_env):
    StagePolicy.objects.create(stage="qa", default_ttl_hours=10, extend_on_activity=True)
    now = timezone.now()
    active = make_env(users["qa"], team, name="pol-active", ttl_hours=2)
    quiet = make_env(users["qa"], team, name="pol-quiet", ttl_hours=2)
    SleepState.objects.create(environment=active, last_activity_at=now - timedelta(hours=1),
                              last_activity_kind="logs")
    SleepState.objects.create(environment=quiet, last_activity_at=now - timedelta(hours=11))  # older than the TTL
    assert environments_ttl_extend_on_activity(now=now) == [active.pk]
    active.refresh_from_db()
    assert active.expires_at == now - timedelta(hours=1) + timedelta(hours=10)
    assert environments_ttl_extend_on_activity(now=now) == []  # idempotent: extended once
    event = AuditEvent.objects.get(action="environment.ttl_extended")
    assert (event.object_id, event.details["activity"]) == (str(active.pk), "logs")
    StagePolicy.objects.filter(stage="qa").update(extend_on_activity=False)
    SleepState.objects.filter(environment=active).update(last_activity_at=now)
    assert environments_ttl_extend_on_activity(now=now) == []


def test_approval_counts_the_requesters_quota_not_the_admins(users, ask, make_env, team):
    request = ask(users["developer"])
    make_env(users["developer"], team, name="pol-dev-qa")
    QuotaPolicy.objects.create(team=None, max_per_user=1)  # the developer now has 1 live (the request no longer counts)
    with pytest.raises(ValidationError, match="developer has 1 of 1 environments"):
        environment_request_approve(actor=Actor.for_user(users["admin"]), user=users["admin"], request=request)
    QuotaPolicy.objects.filter(team=None).update(max_per_user=2)
    environment = environment_request_approve(actor=Actor.for_user(users["admin"]), user=users["admin"],
                                              request=request)
    assert environment.owner == users["developer"]
