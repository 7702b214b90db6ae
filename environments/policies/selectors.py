"""Policy reads shared by the checks, pages, API and other parts (the wake part asks ``stage_policy_for``
before a required sleep schedule is disabled).

Production needs a Platform admin's approval by default: a CODE default (``DEFAULT_STAGE_POLICIES``)
applies while the stage has no row, so no data migration is needed; the first edit on the Policies page
stores a row, which then rules.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from portal.accounts import rules

from ..catalog.models import STAGES
from .models import EnvironmentRequest, QuotaPolicy, StagePolicy

# What a stage without a row gets (unsaved StagePolicy fields).
DEFAULT_STAGE_POLICIES: dict[str, dict[str, Any]] = {"prod": {"requires_approval": True}}
KNOWN_STAGES = tuple(value for value, _ in STAGES)


def stage_policy_for(stage: str) -> StagePolicy | None:
    """The policy of ``stage``: its row, else the code default (unsaved, ``pk`` None) for a stage that
    has one (prod: approval required), else None (no extra rules)."""
    policy = StagePolicy.objects.filter(stage=stage).first()
    if policy is None and stage in DEFAULT_STAGE_POLICIES:
        policy = StagePolicy(stage=stage, **DEFAULT_STAGE_POLICIES[stage])
    return policy


def stage_policies() -> list[StagePolicy]:
    """One policy per known stage, in the stages' order (a stage without a row or default: an empty,
    unsaved policy), for the Policies page and the API."""
    stored = {policy.stage: policy for policy in StagePolicy.objects.select_related("updated_by")}
    return [stored.get(stage) or StagePolicy(stage=stage, **DEFAULT_STAGE_POLICIES.get(stage, {}))
            for stage in KNOWN_STAGES]


def quota_policy_for(team: Any) -> QuotaPolicy | None:
    """The quota that applies to ``team``: the team's own row, else the default row (no team), else None."""
    rows = {row.team_id: row for row in QuotaPolicy.objects.filter(Q(team=None) | Q(team_id=getattr(team, "pk", None)))}
    return rows.get(getattr(team, "pk", None)) or rows.get(None)


def quota_policies() -> QuerySet[QuotaPolicy]:
    """Every quota row: the default first, then the teams' by slug."""
    return QuotaPolicy.objects.select_related("team", "updated_by").order_by(
        Case(When(team=None, then=Value(0)), default=Value(1), output_field=IntegerField()), "team__slug")


def environment_requests_visible(user: Any) -> QuerySet[EnvironmentRequest]:
    """The requests ``user`` may see (Platform admins and Managers: all; others: their own and their
    teams'), pending first, then newest (filters.EnvironmentRequestFilter narrows them)."""
    rows = EnvironmentRequest.objects.select_related("requested_by", "decided_by", "team", "cluster", "blueprint",
                                                     "environment")
    if not (rules.is_platform_admin(user) or rules.is_manager(user)):
        rows = rows.filter(Q(requested_by_id=getattr(user, "pk", None)) | Q(team_id__in=rules.team_ids(user)))
    pending_first = Case(When(state=EnvironmentRequest.PENDING, then=Value(0)), default=Value(1),
                         output_field=IntegerField())
    return rows.order_by(pending_first, "-created_at", "-pk")
