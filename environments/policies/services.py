"""Policy use cases: Platform admins edit stage policies and quotas (audited with before/after), and the
beat extends the TTL of active environments in stages that ask for it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from portal.accounts import authz
from portal.accounts.models import Team
from portal.accounts.roles import ALL_ROLES
from portal.audit.actor import Actor
from portal.audit.services import audit_record, audited, changes_between

from ..models import Environment
from .models import QuotaPolicy, StagePolicy
from .selectors import DEFAULT_STAGE_POLICIES, KNOWN_STAGES

EDIT_REFUSED = "Only Platform admins change policies."
STAGE_FIELDS = ("default_ttl_hours", "max_ttl_hours", "allowed_roles", "sleep_schedule_required",
                "requires_approval", "extend_on_activity")
QUOTA_FIELDS = ("max_per_user", "max_per_team")
MAX_TTL_HOURS = 24 * 365


def _values(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


def _stage_policy_validated(stage: str, values: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    if stage not in KNOWN_STAGES:
        errors["stage"] = [f"'{stage}' is not a stage; choose one of {', '.join(KNOWN_STAGES)}."]
    for name in ("default_ttl_hours", "max_ttl_hours"):
        hours = values.get(name)
        if hours is not None and not 1 <= hours <= MAX_TTL_HOURS:
            errors[name] = [f"Give 1 to {MAX_TTL_HOURS} hours, or leave it empty for no limit."]
    default, maximum = values.get("default_ttl_hours"), values.get("max_ttl_hours")
    if default and maximum and maximum < default and "max_ttl_hours" not in errors:
        errors["max_ttl_hours"] = [f"The maximum ({maximum} h) must be at least the default ({default} h)."]
    unknown = sorted(set(values.get("allowed_roles") or []) - set(ALL_ROLES))
    if unknown:
        errors["allowed_roles"] = [f"Unknown role {', '.join(unknown)}; roles are {', '.join(ALL_ROLES)}."]
    if values.get("extend_on_activity") and not default:
        errors["extend_on_activity"] = ["Extending on activity needs a default TTL to extend by."]
    if errors:
        raise ValidationError(errors)


def stage_policy_update(*, actor: Actor, user: Any, stage: str, **values: Any) -> StagePolicy:
    """Set ``stage``'s policy (fields of STAGE_FIELDS; absent ones keep their value). Audited
    "stage_policy.update" with before/after. Raises PermissionDenied / ValidationError (nothing saved)."""
    with audited(actor=actor, action="stage_policy.update", details={"stage": stage}) as scope:
        if not authz.policy_can(user, authz.CHANGE):
            raise PermissionDenied(EDIT_REFUSED)
        unknown = sorted(set(values) - set(STAGE_FIELDS))
        if unknown:
            raise ValidationError(f"Unknown policy field {', '.join(unknown)}.")
        with transaction.atomic():
            policy = StagePolicy.objects.select_for_update().filter(stage=stage).first() or StagePolicy(
                stage=stage, **DEFAULT_STAGE_POLICIES.get(stage, {}))
            before = _values(policy, STAGE_FIELDS)
            after = {**before, **values, "allowed_roles": list(values.get("allowed_roles",
                                                                          before["allowed_roles"]) or [])}
            _stage_policy_validated(stage, after)
            for name, value in after.items():
                setattr(policy, name, value)
            policy.updated_by = user
            policy.save()
        scope.obj = policy
        scope.details.update(before=before, after=after, changes=changes_between(before, after))
    return policy


def quota_policy_update(*, actor: Actor, user: Any, team: Team | None, max_per_user: int | None,
                        max_per_team: int | None) -> QuotaPolicy:
    """Set the default quota (``team`` None) or a team's own. Audited "quota_policy.update" with
    before/after. Empty (None) = no limit. Raises PermissionDenied / ValidationError."""
    with audited(actor=actor, action="quota_policy.update",
                 details={"team": getattr(team, "slug", None)}) as scope:
        scope.team_slug = getattr(team, "slug", "")
        if not authz.policy_can(user, authz.CHANGE):
            raise PermissionDenied(EDIT_REFUSED)
        after = {"max_per_user": max_per_user, "max_per_team": max_per_team}
        errors = {name: ["Give 0 or more environments, or leave it empty for no limit."]
                  for name, value in after.items() if value is not None and value < 0}
        if errors:
            raise ValidationError(errors)
        with transaction.atomic():
            policy = QuotaPolicy.objects.select_for_update().filter(team=team).first() or QuotaPolicy(team=team)
            before = _values(policy, QUOTA_FIELDS) if policy.pk else None
            policy.max_per_user, policy.max_per_team, policy.updated_by = max_per_user, max_per_team, user
            policy.save()
        scope.obj = policy
        scope.details.update(before=before, after=after, changes=changes_between(before, after))
    return policy


def quota_policy_delete(*, actor: Actor, user: Any, policy: QuotaPolicy) -> None:
    """Remove a team's own quota (the default applies again) or the default (no limit). Audited."""
    with audited(actor=actor, action="quota_policy.delete", obj=policy,
                 details={"before": _values(policy, QUOTA_FIELDS), "team": getattr(policy.team, "slug", None)}):
        if not authz.policy_can(user, authz.CHANGE):
            raise PermissionDenied(EDIT_REFUSED)
        QuotaPolicy.objects.filter(pk=policy.pk).delete()


def environments_ttl_extend_on_activity(*, now: datetime | None = None) -> list[int]:
    """Beat (idempotent): in stages whose policy extends on activity, push each live environment's expiry to
    at least its last activity + the stage's default TTL. Each extension is one conditional UPDATE (two
    beats cannot both extend one environment) and one "environment.ttl_extended" audit event; a re-run
    finds nothing left to do. Activity older than the TTL (the extension would already be past) is ignored.
    Returns the ids extended."""
    now = now or timezone.now()
    actor = Actor.system("policy-ttl-extend")
    extended = []
    for policy in StagePolicy.objects.filter(extend_on_activity=True, default_ttl_hours__isnull=False):
        ttl = timedelta(hours=policy.default_ttl_hours)
        candidates = (Environment.objects.filter(stage=policy.stage, expires_at__isnull=False,
                                                 sleep_state__last_activity_at__gt=now - ttl,
                                                 sleep_state__last_activity_at__lte=now)
                      .exclude(status__in=[Environment.DESTROYING, Environment.DESTROYED])
                      .filter(expires_at__lt=F("sleep_state__last_activity_at") + ttl)
                      .select_related("team", "sleep_state"))
        for environment in candidates:
            activity = environment.sleep_state.last_activity_at
            until = activity + ttl
            claimed = Environment.objects.filter(pk=environment.pk, expires_at__lt=until).update(
                expires_at=until, expiry_notified_at=None)
            if not claimed:
                continue
            audit_record(actor=actor, action="environment.ttl_extended", obj=environment,
                         team_slug=environment.team.slug,
                         details={"before": environment.expires_at, "after": until, "activity_at": activity,
                                  "activity": environment.sleep_state.last_activity_kind,
                                  "stage_ttl_hours": policy.default_ttl_hours})
            extended.append(environment.pk)
    return extended
