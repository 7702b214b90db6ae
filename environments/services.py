"""Environment use cases. Each one validates, persists desired state, audits and enqueues work."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from clusters.models import Cluster
from portal.accounts import authz
from portal.accounts.models import Team
from portal.audit.actor import Actor
from portal.audit.services import audit_record, audited
from portal.derived_names import DNS_LABEL as DNS_LABEL_RULE
from portal.derived_names import bounded_name, owner_marker
from portal.jobs.services import job_create
from portal.outages import QueueUnavailable

from .bluegreen import delete_colour, switch_services
from .catalog.versions import apply_pick, versions_of
from .catalog.versions import resolve as resolve_versions
from .diff import snapshot_diff
from .expiry_notice import send_expiry_notice
from .hostnames.services import hostname_for_new_environment, hostname_reserve
from .lifecycle import environment_transition, failed_when_unqueued
from .lifecycle_jobs import rollout_start
from .models import DNS_LABEL, Blueprint, Environment, EnvironmentRevision, Rollout
from .policies.policy_checks import creation_checked, extension_checked
from .selectors import LIFECYCLE_JOB_KINDS, latest_rollout_job
from .snapshot import new_backing_passwords, snapshot_from_blueprint
from .tasks import destroy as destroy_task

NAMESPACE_PREFIX = "slw-"
CHANGE_REFUSED = ("You can change environments of your own teams only, and production ones only as a "
                  "Platform admin.")
NAMESPACE_NAME = replace(DNS_LABEL_RULE, prefix=NAMESPACE_PREFIX)


def namespace_for(environment: Environment) -> str:
    """The namespace a new environment gets: ``slw-<name>`` while no other environment of the cluster
    (live or destroyed) ever had it, else ``slw-<name head>-<suffix of the environment's marker>``, so a
    name used again never lands in an old environment's namespace, nor its CloudWatch log group
    (``/slipway/<cluster>/<namespace>``), whose history belongs to the earlier owner."""
    plain = NAMESPACE_PREFIX + environment.name
    taken = Environment.objects.filter(cluster_id=environment.cluster_id, namespace=plain).exclude(pk=environment.pk)
    if not taken.exists():
        return plain
    return bounded_name(environment.name, environment.ownership_marker, NAMESPACE_NAME)


def environment_name_checked(name: str) -> None:
    """Raise ValidationError({"name": …}) unless ``name`` makes a valid environment (and namespace) name."""
    try:
        DNS_LABEL(name)
    except ValidationError as exc:
        raise ValidationError({"name": exc.messages}) from exc
    if len(NAMESPACE_PREFIX + name) > 63:
        raise ValidationError({"name": ["Use at most 59 characters."]})


def environment_create(*, actor: Actor, user: Any, cluster: Cluster, blueprint: Blueprint, name: str, stage: str,
                       team: Team, versions: dict[str, str], ttl_hours: int | None = None,
                       strategy: str = "rolling", owner: Any = None) -> Environment:
    """Create an environment and enqueue its first rollout. Raises ValidationError / PermissionDenied.
    ``owner`` defaults to the actor's user (an approved request: the requester, while the admin acts).

    Two concurrent creations of one name: the database's unique constraint lets exactly one through.
    """
    details = {"name": name, "cluster": cluster.name, "blueprint": str(blueprint), "stage": stage,
               "team": team.slug, "versions": versions, "ttl_hours": ttl_hours}
    with audited(actor=actor, action="environment.create", details=details) as scope:
        scope.team_slug = team.slug
        if not authz.environment_can(user, authz.CREATE, authz.Target(team_id=team.pk, stage=stage)):
            raise PermissionDenied("You can create environments only for your own teams, and production "
                                   "environments only as a Platform admin.")
        environment_name_checked(name)
        resolved = resolve_versions(blueprint, versions)
        snapshot = snapshot_from_blueprint(blueprint=blueprint, stage=stage, versions=resolved)
        if strategy not in ("rolling", "bluegreen"):
            raise ValidationError({"strategy": ["Choose 'rolling' or 'bluegreen'."]})
        if strategy == "bluegreen":
            snapshot["colour"] = "blue"
        hostname = hostname_for_new_environment(cluster=cluster, name=name, team_slug=team.slug, stage=stage)
        unqueued: QueueUnavailable | None = None
        try:
            with transaction.atomic():
                # Policies (issue 17): roles, approval, TTL, schedule, quotas; the quota locks rows.
                owner_id = owner.pk if owner is not None else actor.user_id
                ttl_hours = creation_checked(user=user, owner_id=owner_id, team=team, stage=stage,
                                             ttl_hours=ttl_hours)
                environment = Environment.objects.create(
                    name=name, cluster=cluster, namespace="", blueprint=blueprint,
                    stage=stage, team=team, owner_id=owner_id, status=Environment.PENDING,
                    expires_at=timezone.now() + timedelta(hours=ttl_hours) if ttl_hours else None,
                    backing_passwords=new_backing_passwords(blueprint), strategy=strategy,
                    active_colour="blue" if strategy == "bluegreen" else "", hostname=hostname,
                )
                environment.owner_marker = owner_marker("environment", environment.pk)
                environment.namespace = namespace_for(environment)
                Environment.objects.filter(pk=environment.pk).update(namespace=environment.namespace,
                                                                     owner_marker=environment.owner_marker)
                hostname_reserve(environment)
                revision = EnvironmentRevision.objects.create(environment=environment, number=1, snapshot=snapshot,
                                                              message="created", created_by_id=actor.user_id)
                Environment.objects.filter(pk=environment.pk).update(current_revision=revision)
                environment.current_revision = revision
                rollout_start(actor=actor, environment=environment, revision=revision)
        except IntegrityError as exc:
            raise ValidationError({"name": [f"An environment named '{name}' already exists on {cluster}."]}) from exc
        except QueueUnavailable as exc:
            # Raised after the commit: the environment exists (failed with the reason, retryable); only its
            # rollout was not queued. The trail says so, and the request still answers 503.
            unqueued = exc
            scope.details["rollout"] = f"not queued: {exc}"
        scope.obj = environment
        scope.details.update(revision=1, ttl_hours=ttl_hours)
    if unqueued is not None:
        raise unqueued
    return environment


def _require_change(user: Any, environment: Environment) -> None:
    if not authz.environment_can(user, authz.CHANGE, environment):
        raise PermissionDenied(CHANGE_REFUSED)
    _require_live(environment)


def _require_live(environment: Environment) -> None:
    if environment.status in (Environment.DESTROYING, Environment.DESTROYED):
        raise ValidationError("This environment is being destroyed.")


def _new_revision(*, actor: Actor, environment: Environment, snapshot: dict, message: str) -> EnvironmentRevision:
    environment = Environment.objects.select_for_update().get(pk=environment.pk)
    if environment.status in (Environment.SLEEPING, Environment.WAKING):
        # A rollout now would race the sleep or wake job over the same Deployments (issue 17).
        doing = "going to sleep" if environment.status == Environment.SLEEPING else "waking up"
        raise ValidationError(f"{environment.name} is {doing}; change it once that has finished.")
    if environment.strategy == "bluegreen":
        # A new revision always goes to the standby colour; the live one keeps serving until a switch.
        snapshot = {**snapshot, "colour": standby_colour(environment)}
    number = (environment.revisions.aggregate(n=models.Max("number"))["n"] or 0) + 1
    revision = EnvironmentRevision.objects.create(environment=environment, number=number, snapshot=snapshot,
                                                  message=message[:200], created_by_id=actor.user_id)
    environment_transition(environment, Environment.PENDING, actor=actor, current_revision=revision)
    return revision


def environment_update_versions(*, actor: Actor, user: Any, environment: Environment, versions: dict[str, str],
                                message: str = "") -> Rollout:
    """Record a revision with new versions for some components and roll it out. Raises ValidationError."""
    before = versions_of(environment.current_revision.snapshot)
    with audited(actor=actor, action="environment.update_versions", obj=environment,
                 details={"before": before, "requested": versions}) as scope:
        scope.team_slug = environment.team.slug
        _require_change(user, environment)
        unknown = sorted(set(versions) - set(before))
        if unknown:
            raise ValidationError({"versions": [f"'{n}' is not a component of this environment." for n in unknown]})
        resolved = resolve_versions(environment.blueprint, {**before, **versions}, current=before)
        snapshot = json.loads(json.dumps(environment.current_revision.snapshot))
        for component in snapshot["components"]:
            apply_pick(component, resolved[component["name"]])
        if versions_of(snapshot) == before:
            raise ValidationError({"versions": ["These are already the environment's versions."]})
        with transaction.atomic():
            revision = _new_revision(actor=actor, environment=environment, snapshot=snapshot,
                                     message=message or "update versions")
            rollout = rollout_start(actor=actor, environment=environment, revision=revision)
        scope.details.update(after=versions_of(snapshot), revision=revision.number)
    return rollout


def environment_rollback(*, actor: Actor, user: Any | None, environment: Environment, number: int) -> Rollout:
    """Make a new revision equal to revision ``number`` and roll it out (history is never rewritten).
    ``user=None`` is the system (a chaos experiment's undo, authorised when the experiment started)."""
    with audited(actor=actor, action="environment.rollback", obj=environment, details={"to": number}) as scope:
        scope.team_slug = environment.team.slug
        if user is None:
            _require_live(environment)
        else:
            _require_change(user, environment)
        target = environment.revisions.filter(number=number).first()
        if target is None:
            raise ValidationError({"revision": [f"Revision {number} does not exist."]})
        with transaction.atomic():
            revision = _new_revision(actor=actor, environment=environment, snapshot=target.snapshot,
                                     message=f"rollback to r{number}")
            rollout = rollout_start(actor=actor, environment=environment, revision=revision)
        scope.details.update(revision=revision.number, versions=versions_of(target.snapshot))
    return rollout


def environment_chaos_image(*, actor: Actor, environment: Environment, component: str, tag: str) -> Rollout:
    """A chaos experiment's bad-image fault (issue 16): a new revision in which ``component`` runs its
    repository's ``tag``, rolled out by Slipway's own rollout. Not routed through the catalog, which
    would refuse a version it does not know: that is the point. The chaos run authorised it."""
    with audited(actor=actor, action="environment.chaos_image", obj=environment,
                 details={"component": component, "tag": tag}) as scope:
        scope.team_slug = environment.team.slug
        _require_live(environment)
        snapshot = json.loads(json.dumps(environment.current_revision.snapshot))
        picked = [c for c in snapshot["components"] if c["name"] == component]
        if not picked:
            raise ValidationError({"component": [f"'{component}' is not a component of this environment."]})
        picked[0].update(tag=tag, digest="", tag_digest="")
        with transaction.atomic():
            revision = _new_revision(actor=actor, environment=environment, snapshot=snapshot,
                                     message=f"chaos: {component} on {tag}")
            rollout = rollout_start(actor=actor, environment=environment, revision=revision)
        scope.details["revision"] = revision.number
    return rollout


def environment_retry(*, actor: Actor, user: Any, environment: Environment) -> Any:
    """Re-run what failed: the current revision's rollout (no new revision), or a destroy that got stuck.

    Raises PermissionDenied, or ValidationError unless the environment is failed with no job running.
    Idempotent: the row is locked and set pending/destroying before the job starts, so a second retry
    (a double click, two tabs) is refused instead of starting a second job. Returns the new job.
    """
    with audited(actor=actor, action="environment.retry", obj=environment) as scope:
        scope.team_slug = environment.team.slug
        if not authz.environment_can(user, authz.CHANGE, environment):
            raise PermissionDenied("You can retry environments of your own teams only, and production ones only "
                                   "as a Platform admin.")
        with transaction.atomic():
            locked = Environment.objects.select_for_update().get(pk=environment.pk)
            last = latest_rollout_job(locked)
            if last is not None and not last.finished:
                raise ValidationError(f"A job is already running for this environment ({last.title}); "
                                      f"wait for it to end.")
            last = latest_rollout_job(locked, kinds=LIFECYCLE_JOB_KINDS)  # what failed: a rollout or a destroy
            if locked.status != Environment.FAILED:
                raise ValidationError(f"Only a failed environment can be retried; this one is "
                                      f"{locked.get_status_display().lower()}.")
            scope.details.update(failure=locked.status_message[:500], revision=locked.current_revision.number)
            if last is not None and last.kind == "destroy":
                environment_transition(locked, Environment.DESTROYING, actor=actor)
                job = job_create(actor=actor, kind="destroy", title=f"Destroy {locked.name} (retry)", task=destroy_task,
                                 target=locked, team=locked.team, on_unqueued=failed_when_unqueued(locked, actor=actor))
            else:
                environment_transition(locked, Environment.PENDING, actor=actor)
                job = rollout_start(actor=actor, environment=locked, revision=locked.current_revision).job
            scope.details.update(job=str(job.pk), kind=job.kind)
    return job


def environment_destroy(*, actor: Actor, user: Any | None, environment: Environment,
                        confirm_name: str | None = None) -> Any:
    """Mark the environment destroying and enqueue the namespace deletion. ``user=None`` is the system.

    ``confirm_name`` is the name a person typed to confirm (the page's dialog always sends it; API
    callers may): when given, it must be the environment's name, or nothing is destroyed.
    """
    with audited(actor=actor, action="environment.destroy", obj=environment,
                 details={"namespace": environment.namespace}) as scope:
        scope.team_slug = environment.team.slug
        if user is not None and not authz.environment_can(user, authz.CHANGE, environment):
            raise PermissionDenied("You can destroy environments of your own teams only, and production ones only "
                                   "as a Platform admin.")
        if environment.status == Environment.DESTROYED:
            raise ValidationError("This environment is already destroyed.")
        if confirm_name is not None and confirm_name.strip() != environment.name:
            raise ValidationError({"confirm_name": [f"Type the environment's name ({environment.name}) to confirm; "
                                                    "nothing was destroyed."]})
        with transaction.atomic():
            environment_transition(environment, Environment.DESTROYING, actor=actor)
            job = job_create(actor=actor, kind="destroy", title=f"Destroy {environment.name}", task=destroy_task,
                             target=environment, team=environment.team,
                             on_unqueued=failed_when_unqueued(environment, actor=actor))
    return job


def environment_extend(*, actor: Actor, user: Any, environment: Environment, hours: int) -> Environment:
    """Push the expiry ``hours`` from now (the owner's answer to an expiry notice)."""
    with audited(actor=actor, action="environment.extend", obj=environment,
                 details={"before": environment.expires_at, "hours": hours}) as scope:
        scope.team_slug = environment.team.slug
        _require_change(user, environment)
        if not 1 <= hours <= 24 * 30:
            raise ValidationError({"hours": ["Extend by 1 hour to 30 days."]})
        extension_checked(environment=environment, hours=hours)  # the stage's max TTL (issue 17)
        environment.expires_at = timezone.now() + timedelta(hours=hours)
        Environment.objects.filter(pk=environment.pk).update(expires_at=environment.expires_at,
                                                             expiry_notified_at=None)
        scope.details["after"] = environment.expires_at
    return environment


def environments_expire(*, now=None) -> list[int]:
    """The TTL reaper (idempotent). Owners are notified ``SLIPWAY_EXPIRY_NOTICE_HOURS`` ahead (an audit
    event, the dashboard's "expiring soon" list with its Extend button, e-mail and the chat webhook — see
    expiry_notice.py); an environment is destroyed
    once expired and notified at least ``SLIPWAY_EXPIRY_GRACE_MINUTES`` ago. Returns the destroyed ids."""
    now = now or timezone.now()
    actor = Actor.system("ttl-reaper")
    live = Environment.objects.exclude(status__in=[Environment.DESTROYING, Environment.DESTROYED])
    notice = live.filter(expires_at__lt=now + timedelta(hours=settings.SLIPWAY_EXPIRY_NOTICE_HOURS),
                         expiry_notified_at__isnull=True).select_related("team", "owner")
    for environment in notice.select_related("cluster"):
        # Claim the notice first (at most once per expiry, even with two reapers), then send it.
        claimed = Environment.objects.filter(pk=environment.pk, expiry_notified_at__isnull=True).update(
            expiry_notified_at=now)
        if not claimed:
            continue
        channels = send_expiry_notice(environment)
        audit_record(actor=actor, action="environment.expiry_notice", obj=environment,
                     team_slug=environment.team.slug,
                     details={"owner": environment.owner.get_username() if environment.owner else None,
                              "expires_at": environment.expires_at, "channels": channels})
    grace = now - timedelta(minutes=settings.SLIPWAY_EXPIRY_GRACE_MINUTES)
    destroyed = []
    for environment in live.filter(expires_at__lt=now, expiry_notified_at__lte=grace):
        environment_destroy(actor=actor, user=None, environment=environment)
        destroyed.append(environment.pk)
    return destroyed


def environment_clone(*, actor: Actor, user: Any, source: Environment, name: str, team: Team,
                      stage: str | None = None, ttl_hours: int | None = None) -> Environment:
    """A new environment running exactly ``source``'s current versions (re-rendered for its own stage)."""
    versions = versions_of(source.current_revision.snapshot)
    if not authz.environment_can(user, authz.VIEW, source):
        raise PermissionDenied("You cannot see the environment you want to clone.")
    environment = environment_create(actor=actor, user=user, cluster=source.cluster, blueprint=source.blueprint,
                                     name=name, stage=stage or source.stage, team=team, versions=versions,
                                     ttl_hours=ttl_hours)
    audit_record(actor=actor, action="environment.clone", obj=environment, team_slug=team.slug,
                 details={"source": source.name, "source_revision": source.current_revision.number,
                          "versions": versions})
    return environment


def promote_preview(*, source: Environment, target: Environment) -> list[dict[str, Any]]:
    """What promoting ``source``'s versions onto ``target`` would change (the diff shown before applying)."""
    wanted = versions_of(source.current_revision.snapshot)
    current = versions_of(target.current_revision.snapshot)
    rows = snapshot_diff({"components": [{"name": n, "tag": t} for n, t in sorted(current.items())]},
                         {"components": [{"name": n, "tag": wanted.get(n, t)} for n, t in sorted(current.items())]})
    return rows


def environment_promote(*, actor: Actor, user: Any, source: Environment, target: Environment) -> Rollout:
    """Apply ``source``'s component versions to ``target`` (e.g. QA → staging) as a new revision."""
    if not authz.environment_can(user, authz.VIEW, source):
        raise PermissionDenied("You cannot see the environment you promote from.")
    if source.blueprint.name != target.blueprint.name:
        raise ValidationError(f"{source} and {target} are built from different blueprints.")
    versions = versions_of(source.current_revision.snapshot)
    rollout = environment_update_versions(actor=actor, user=user, environment=target, versions=versions,
                                          message=f"promoted from {source.name} r{source.current_revision.number}")
    audit_record(actor=actor, action="environment.promote", obj=target, team_slug=target.team.slug,
                 details={"source": source.name, "versions": versions, "revision": rollout.revision.number})
    return rollout


def standby_colour(environment: Environment) -> str:
    return "green" if environment.active_colour == "blue" else "blue"


def environment_switch_colour(*, actor: Actor, user: Any, environment: Environment) -> Environment:
    """Point the Services at the other colour (switch, or switch back). Refuses if it is not deployed."""
    with audited(actor=actor, action="environment.switch", obj=environment,
                 details={"from": environment.active_colour}) as scope:
        scope.team_slug = environment.team.slug
        _require_change(user, environment)
        if environment.strategy != "bluegreen":
            raise ValidationError("Only blue/green environments switch colours.")
        target = standby_colour(environment)
        switch_services(environment, target)
        Environment.objects.filter(pk=environment.pk).update(active_colour=target)
        environment.active_colour = target
        scope.details["to"] = target
    return environment


def environment_retire_colour(*, actor: Actor, user: Any, environment: Environment) -> list[str]:
    """Delete the standby colour's workloads once the switch is confirmed. Returns what was deleted."""
    with audited(actor=actor, action="environment.retire_colour", obj=environment) as scope:
        scope.team_slug = environment.team.slug
        _require_change(user, environment)
        if environment.strategy != "bluegreen":
            raise ValidationError("Only blue/green environments have a standby colour.")
        deleted = delete_colour(environment, standby_colour(environment))
        scope.details.update(colour=standby_colour(environment), deleted=deleted)
    return deleted
