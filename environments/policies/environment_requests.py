"""Environments that need a Platform admin's approval (production by default): asked for, then approved
(the environment is created as the requester's), refused with a reason, or cancelled by the requester.

The state moves only through ``lifecycle.environment_request_transition``; a request decided twice
is refused the second time. Quotas and names are checked when asked and again at approval.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clusters.models import Cluster
from portal.accounts import authz
from portal.accounts.models import Team
from portal.audit.actor import Actor
from portal.audit.services import audited

from ..catalog.versions import resolve as resolve_versions
from ..models import Blueprint, Environment
from ..services import environment_create, environment_name_checked
from .lifecycle import environment_request_transition
from .models import EnvironmentRequest
from .policy_checks import quota_checked, role_allowed, schedule_checked, ttl_checked
from .selectors import stage_policy_for

REQUEST_REFUSED = "You can ask for environments only for your own teams, as QA, a Developer or a Platform admin."
DECIDE_REFUSED = "Only Platform admins approve or refuse requests for environments."


def _name_checked(*, cluster: Cluster, name: str) -> None:
    environment_name_checked(name)
    if Environment.objects.filter(cluster=cluster, name=name).exclude(status=Environment.DESTROYED).exists():
        raise ValidationError({"name": [f"An environment named '{name}' already exists on {cluster}."]})


def environment_request_create(*, actor: Actor, user: Any, cluster: Cluster, blueprint: Blueprint, name: str,
                               stage: str, team: Team, versions: dict[str, str], ttl_hours: int | None = None,
                               strategy: str = "rolling", justification: str = "") -> EnvironmentRequest:
    """Ask for an environment in a stage that needs approval (audited "environment.request"). Every rule a
    creation meets is checked now (roles, name, versions, TTL, schedule, quotas: a pending request counts);
    raises PermissionDenied or ValidationError, and nothing is stored then."""
    details = {"name": name, "cluster": cluster.name, "stage": stage, "team": team.slug, "versions": versions,
               "ttl_hours": ttl_hours}
    with audited(actor=actor, action="environment.request", details=details) as scope:
        scope.team_slug = team.slug
        if not authz.environment_request_can(user, authz.CREATE, authz.Target(team_id=team.pk, stage=stage)):
            raise PermissionDenied(REQUEST_REFUSED)
        policy = stage_policy_for(stage)
        role_allowed(user=user, stage=stage, policy=policy)
        # A Platform admin may ask too (another admin approves: four eyes), though they could create at once.
        if not (policy and policy.requires_approval):
            raise ValidationError({"stage": [f"Environments of stage {stage} need no approval; create it directly."]})
        _name_checked(cluster=cluster, name=name)
        resolve_versions(blueprint, versions)
        if strategy not in ("rolling", "bluegreen"):
            raise ValidationError({"strategy": ["Choose 'rolling' or 'bluegreen'."]})
        ttl_hours = ttl_checked(stage=stage, ttl_hours=ttl_hours)
        schedule_checked(team=team, stage=stage)
        try:
            with transaction.atomic():
                quota_checked(team=team, owner_id=user.pk)
                request = EnvironmentRequest.objects.create(
                    requested_by=user, name=name, cluster=cluster, blueprint=blueprint, stage=stage, team=team,
                    versions=versions, ttl_hours=ttl_hours, strategy=strategy, justification=justification[:500])
        except IntegrityError as exc:
            raise ValidationError({"name": [f"A request for '{name}' on {cluster} is already waiting for "
                                            "approval."]}) from exc
        scope.obj = request
        scope.details["ttl_hours"] = ttl_hours
    return request


def _locked_pending(request: EnvironmentRequest) -> EnvironmentRequest:
    locked = EnvironmentRequest.objects.select_for_update().get(pk=request.pk)
    if locked.state != EnvironmentRequest.PENDING:
        raise ValidationError(f"This request is already {locked.get_state_display().lower()}.")
    return locked


def environment_request_approve(*, actor: Actor, user: Any, request: EnvironmentRequest) -> Environment:
    """Create the environment asked for (acted by the approving admin, owned by the requester) and mark the
    request approved with the environment linked (audited). Quotas (the requester's), names and versions
    are checked again: when they refuse now, the request stays pending and nothing is created. Raises
    PermissionDenied / ValidationError."""
    with audited(actor=actor, action="environment_request.approve", obj=request,
                 details={"name": request.name, "stage": request.stage}) as scope:
        scope.team_slug = request.team.slug
        if not authz.environment_request_can(user, authz.CHANGE, request):
            raise PermissionDenied(DECIDE_REFUSED)
        if request.requested_by is None:
            raise ValidationError("The requester's account no longer exists; refuse this request.")
        with transaction.atomic():
            locked = _locked_pending(request)
            # Approved first, so the request no longer counts against the quota the creation checks.
            environment_request_transition(locked, EnvironmentRequest.APPROVED, actor=actor, reason="",
                                           fields={"decided_by": user, "decided_at": timezone.now()})
            # The admin acts (their rollout job passes the job's re-check of production); the requester owns it.
            environment = environment_create(
                actor=actor, user=user, cluster=locked.cluster, blueprint=locked.blueprint, name=locked.name,
                stage=locked.stage, team=locked.team, versions=locked.versions, ttl_hours=locked.ttl_hours,
                strategy=locked.strategy, owner=locked.requested_by)
            EnvironmentRequest.objects.filter(pk=locked.pk).update(environment=environment)
        request.refresh_from_db()
        scope.details["environment"] = environment.pk
    return environment


def environment_request_refuse(*, actor: Actor, user: Any, request: EnvironmentRequest,
                               reason: str) -> EnvironmentRequest:
    """Refuse a pending request with a reason the requester reads (required; audited)."""
    with audited(actor=actor, action="environment_request.refuse", obj=request,
                 details={"name": request.name, "reason": reason}) as scope:
        scope.team_slug = request.team.slug
        if not authz.environment_request_can(user, authz.CHANGE, request):
            raise PermissionDenied(DECIDE_REFUSED)
        if not (reason or "").strip():
            raise ValidationError({"reason": ["Give the reason for refusing; the requester reads it."]})
        with transaction.atomic():
            locked = _locked_pending(request)
            environment_request_transition(locked, EnvironmentRequest.REFUSED, actor=actor, reason=reason.strip(),
                                           fields={"decided_by": user, "decided_at": timezone.now()})
        request.refresh_from_db()
    return request


def environment_request_cancel(*, actor: Actor, user: Any, request: EnvironmentRequest) -> EnvironmentRequest:
    """The requester (or a Platform admin) withdraws a pending request (audited)."""
    with audited(actor=actor, action="environment_request.cancel", obj=request,
                 details={"name": request.name}) as scope:
        scope.team_slug = request.team.slug
        if not authz.environment_request_can(user, authz.CANCEL, request):
            raise PermissionDenied("Only the person who asked, or a Platform admin, may cancel this request.")
        with transaction.atomic():
            locked = _locked_pending(request)
            environment_request_transition(locked, EnvironmentRequest.CANCELLED, actor=actor, reason="cancelled",
                                           fields={"decided_by": user, "decided_at": timezone.now()})
        request.refresh_from_db()
    return request
