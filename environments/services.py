"""Environment use cases. Each one validates, persists desired state, audits and enqueues work."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clusters.models import Cluster
from portal.accounts import rules
from portal.accounts.models import Team
from portal.audit.actor import Actor
from portal.audit.services import audited
from portal.jobs.services import job_create

from .models import DNS_LABEL, Blueprint, Environment, EnvironmentRevision, ImageVersion, Rollout
from .snapshot import new_backing_passwords, snapshot_from_blueprint

NAMESPACE_PREFIX = "slw-"


class _Intent:
    """What permission rules judge before the environment exists."""

    def __init__(self, *, owner_id: int | None, team_id: int, stage: str) -> None:
        self.owner_id, self.team_id, self.stage = owner_id, team_id, stage


def _resolve_versions(blueprint: Blueprint, versions: dict[str, str]) -> dict[str, ImageVersion]:
    resolved, errors = {}, {}
    names = set(blueprint.components.values_list("name", flat=True))
    for extra in sorted(set(versions) - names):
        errors[extra] = f"'{extra}' is not a component of blueprint {blueprint}."
    for component in sorted(names):
        tag = versions.get(component)
        if not tag:
            errors[component] = f"Choose a version for '{component}'."
            continue
        found = ImageVersion.objects.filter(component__name=component, tag=tag).first()
        if found is None:
            errors[component] = f"'{tag}' is not a known version of '{component}'."
        else:
            resolved[component] = found
    if errors:
        raise ValidationError({"versions": [f"{msg}" for _, msg in sorted(errors.items())]})
    return resolved


def environment_create(*, actor: Actor, user: Any, cluster: Cluster, blueprint: Blueprint, name: str, stage: str,
                       team: Team, versions: dict[str, str], ttl_hours: int | None = None) -> Environment:
    """Create an environment and enqueue its first rollout. Raises ValidationError / PermissionDenied.

    Two concurrent creations of one name: the database's unique constraint lets exactly one through.
    """
    details = {"name": name, "cluster": cluster.name, "blueprint": str(blueprint), "stage": stage,
               "team": team.slug, "versions": versions, "ttl_hours": ttl_hours}
    with audited(actor=actor, action="environment.create", details=details) as scope:
        scope.team_slug = team.slug
        if not rules.can_change(user, _Intent(owner_id=user.pk, team_id=team.pk, stage=stage)):
            raise PermissionDenied("You can create environments only for your own teams, and production "
                                   "environments only as a Platform admin.")
        try:
            DNS_LABEL(name)
        except ValidationError as exc:
            raise ValidationError({"name": exc.messages}) from exc
        if len(NAMESPACE_PREFIX + name) > 63:
            raise ValidationError({"name": ["Use at most 59 characters."]})
        resolved = _resolve_versions(blueprint, versions)
        snapshot = snapshot_from_blueprint(blueprint=blueprint, stage=stage, versions=resolved)
        try:
            with transaction.atomic():
                environment = Environment.objects.create(
                    name=name, cluster=cluster, namespace=NAMESPACE_PREFIX + name, blueprint=blueprint,
                    stage=stage, team=team, owner_id=actor.user_id, status=Environment.PENDING,
                    expires_at=timezone.now() + timedelta(hours=ttl_hours) if ttl_hours else None,
                    backing_passwords=new_backing_passwords(blueprint),
                )
                revision = EnvironmentRevision.objects.create(environment=environment, number=1, snapshot=snapshot,
                                                              message="created", created_by_id=actor.user_id)
                Environment.objects.filter(pk=environment.pk).update(current_revision=revision)
                environment.current_revision = revision
                _rollout_start(actor=actor, environment=environment, revision=revision)
        except IntegrityError as exc:
            raise ValidationError({"name": [f"An environment named '{name}' already exists on {cluster}."]}) from exc
        scope.obj = environment
        scope.details["revision"] = 1
    return environment


def _rollout_start(*, actor: Actor, environment: Environment, revision: EnvironmentRevision) -> Rollout:
    from .tasks import rollout

    job = job_create(actor=actor, kind="rollout", title=f"Roll out {environment.name} r{revision.number}",
                     task=rollout, target=environment, team=environment.team)
    return Rollout.objects.create(environment=environment, revision=revision, job=job)
