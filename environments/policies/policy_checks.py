"""The policy checks the environment use cases call (create, clone through create, extend, and the
approval flow's request and approval).

``creation_checked`` runs INSIDE the creating transaction: it locks the team's row, then the owner's
(always in that order, so two creations cannot deadlock), and counts live environments and pending
requests under those locks, so two creations racing for the last place of a quota cannot both pass.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError

from portal.accounts import rules
from portal.accounts.models import Team

from ..models import Environment
from ..sleep.schedule import schedule_for
from .models import EnvironmentRequest, StagePolicy
from .selectors import quota_policy_for, stage_policy_for

RAISE_QUOTA = "destroy one or ask a Platform admin to raise the quota."


class ApprovalRequired(ValidationError):
    """The stage's environments are created only when a Platform admin approves a request; the pages
    and the API turn this into an EnvironmentRequest, other callers show the sentence."""

    def __init__(self, stage: str) -> None:
        super().__init__(f"Environments of stage {stage} need a Platform admin's approval: ask for one with "
                         "the New environment form or POST /api/environment-requests/.")
        self.stage = stage


def approval_needed(*, user: Any, stage: str) -> bool:
    """True when ``user``'s creation in ``stage`` must go through a request. Platform admins are the
    approvers: what they create is created at once."""
    policy = stage_policy_for(stage)
    return bool(policy and policy.requires_approval) and not rules.is_platform_admin(user)


def role_allowed(*, user: Any, stage: str, policy: StagePolicy | None = None) -> None:
    """Raise PermissionDenied when the stage names the roles that may create in it and ``user`` has none
    of them (Platform admins always may). An empty list leaves today's rules (authz) alone."""
    policy = policy if policy is not None else stage_policy_for(stage)
    allowed = list(policy.allowed_roles) if policy is not None else []
    if allowed and not rules.is_platform_admin(user) and not rules.role_names(user) & set(allowed):
        raise PermissionDenied(f"Only {', '.join(allowed)} may create environments of stage {stage}.")


def ttl_checked(*, stage: str, ttl_hours: int | None, policy: StagePolicy | None = None) -> int | None:
    """The TTL a new environment gets: the one asked for, else the stage's default (else its maximum).
    Raises ValidationError naming the limit when the one asked for is longer than the stage allows."""
    policy = policy if policy is not None else stage_policy_for(stage)
    if policy is None:
        return ttl_hours
    if ttl_hours is None:
        return policy.default_ttl_hours or policy.max_ttl_hours
    if policy.max_ttl_hours and ttl_hours > policy.max_ttl_hours:
        raise ValidationError({"ttl_hours": [f"Environments of stage {stage} live at most {policy.max_ttl_hours} "
                                             f"hours; choose {policy.max_ttl_hours} or fewer."]})
    return ttl_hours


def extension_checked(*, environment: Environment, hours: int) -> None:
    """Raise ValidationError when extending ``hours`` from now goes past the stage's max TTL."""
    policy = stage_policy_for(environment.stage)
    if policy is not None and policy.max_ttl_hours and hours > policy.max_ttl_hours:
        raise ValidationError({"hours": [f"Environments of stage {environment.stage} live at most "
                                         f"{policy.max_ttl_hours} hours; extend by {policy.max_ttl_hours} hours "
                                         "or fewer."]})


def default_schedule_applies(*, team: Team, stage: str) -> bool:
    """Whether the default sleep schedule a new environment of ``team`` in ``stage`` would get (the sleep
    part's ``schedule_for``) is enabled and able to put it to sleep."""
    chosen = schedule_for(team=team, stage=stage)
    return chosen is not None and chosen.enabled and bool(chosen.sleep_cron or chosen.idle_hours)


def schedule_checked(*, team: Team, stage: str, policy: StagePolicy | None = None) -> None:
    policy = policy if policy is not None else stage_policy_for(stage)
    if policy is not None and policy.sleep_schedule_required and not default_schedule_applies(team=team, stage=stage):
        raise ValidationError(f"Environments of stage {stage} must have a sleep schedule, and none applies to team "
                              f"{team.slug}; ask a Platform admin to add a default schedule for the team or the stage.")


def quota_checked(*, team: Team, owner_id: int | None, excluding_request: int | None = None) -> None:
    """Lock the team's and the owner's rows and raise ValidationError when one more environment would pass
    the quota (live = not destroyed; pending requests count too). Call inside a transaction."""
    Team.objects.select_for_update().filter(pk=team.pk).first()
    if owner_id is not None:
        get_user_model().objects.select_for_update().filter(pk=owner_id).first()
    quota = quota_policy_for(team)
    if quota is None:
        return
    live = Environment.objects.exclude(status=Environment.DESTROYED)
    pending = EnvironmentRequest.objects.filter(state=EnvironmentRequest.PENDING).exclude(pk=excluding_request)
    if quota.max_per_team is not None:
        used = live.filter(team=team).count() + pending.filter(team=team).count()
        if used >= quota.max_per_team:
            raise ValidationError(f"Team {team.slug} has {used} of {quota.max_per_team} environments; {RAISE_QUOTA}")
    if quota.max_per_user is not None and owner_id is not None:
        used = live.filter(owner_id=owner_id).count() + pending.filter(requested_by_id=owner_id).count()
        if used >= quota.max_per_user:
            owner = get_user_model().objects.get(pk=owner_id).get_username()
            raise ValidationError(f"{owner} has {used} of {quota.max_per_user} environments; {RAISE_QUOTA}")


def creation_checked(*, user: Any, owner_id: int | None, team: Team, stage: str, ttl_hours: int | None,
                     excluding_request: int | None = None) -> int | None:
    """Every rule for a new environment (or request): the stage's roles, approval, TTL, sleep schedule and
    the quotas. Returns the TTL to apply. Raises PermissionDenied, ApprovalRequired or ValidationError
    with a sentence naming the limit. Call inside the creating transaction (the quota locks rows)."""
    policy = stage_policy_for(stage)
    role_allowed(user=user, stage=stage, policy=policy)
    if approval_needed(user=user, stage=stage):
        raise ApprovalRequired(stage)
    ttl_hours = ttl_checked(stage=stage, ttl_hours=ttl_hours, policy=policy)
    schedule_checked(team=team, stage=stage, policy=policy)
    quota_checked(team=team, owner_id=owner_id, excluding_request=excluding_request)
    return ttl_hours
