"""What the policies mean for one person creating in one stage and team, as the New environment form
and the Policies page show it (read only; the checks in ``policy_checks`` enforce the same rules)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from portal.accounts import rules

from ..models import Environment
from .models import EnvironmentRequest
from .policy_checks import approval_needed, default_schedule_applies, ttl_checked
from .selectors import quota_policy_for, stage_policy_for


@dataclass(frozen=True)
class Usage:
    used: int
    limit: int

    @property
    def full(self) -> bool:
        return self.used >= self.limit


@dataclass(frozen=True)
class PolicyLimits:
    stage: str
    needs_approval: bool = False
    allowed_roles: list[str] = field(default_factory=list)
    role_allowed: bool = True
    schedule_required: bool = False
    schedule_applies: bool = True
    team_slug: str = ""
    team_usage: Usage | None = None
    user_usage: Usage | None = None

    @property
    def any(self) -> bool:
        return bool(self.needs_approval or self.allowed_roles or self.schedule_required or self.team_usage
                    or self.user_usage)


@dataclass(frozen=True)
class TtlLimits:
    """The expiry rules of one stage as the New environment form's expiry field shows them."""

    stage: str
    default_hours: int | None  # what an empty field gives (``ttl_checked``): the default, else the max; None: never
    max_hours: int | None

    @property
    def hint(self) -> str:
        """The field's help text: what an empty field means, and the stage's maximum."""
        if self.default_hours is None:
            return f"Empty: never expires (stage {self.stage} sets no default)."
        most = f" At most {self.max_hours} h in {self.stage}." if self.max_hours else ""
        return f"Empty: stage {self.stage}'s default, {self.default_hours} h.{most}"


def ttl_limits_for(stage: str) -> TtlLimits:
    """The expiry rules of ``stage`` (one query: its policy row)."""
    policy = stage_policy_for(stage)
    if policy is None:
        return TtlLimits(stage=stage, default_hours=None, max_hours=None)
    return TtlLimits(stage=stage, default_hours=ttl_checked(stage=stage, ttl_hours=None, policy=policy),
                     max_hours=policy.max_ttl_hours)


def _usage(live: int, pending: int, limit: int | None) -> Usage | None:
    return Usage(used=live + pending, limit=limit) if limit is not None else None


def limits_for(*, user: Any, stage: str, team: Any = None) -> PolicyLimits:
    """The limits that apply to ``user`` creating in ``stage`` for ``team`` (None: no team chosen yet)."""
    policy = stage_policy_for(stage)
    quota = quota_policy_for(team) if team is not None else None
    live = Environment.objects.exclude(status=Environment.DESTROYED)
    pending = EnvironmentRequest.objects.filter(state=EnvironmentRequest.PENDING)
    allowed = list(policy.allowed_roles) if policy else []
    return PolicyLimits(
        stage=stage, needs_approval=approval_needed(user=user, stage=stage), allowed_roles=allowed,
        role_allowed=not allowed or rules.is_platform_admin(user) or bool(rules.role_names(user) & set(allowed)),
        schedule_required=bool(policy and policy.sleep_schedule_required),
        schedule_applies=team is None or not (policy and policy.sleep_schedule_required)
        or default_schedule_applies(team=team, stage=stage),
        team_slug=getattr(team, "slug", ""),
        team_usage=_usage(live.filter(team=team).count(), pending.filter(team=team).count(),
                          quota.max_per_team) if quota else None,
        user_usage=_usage(live.filter(owner=user).count(), pending.filter(requested_by=user).count(),
                          quota.max_per_user) if quota else None)
