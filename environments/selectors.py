from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from clusters.models import Cluster
from clusters.selectors import clusters_for_placement, no_cluster_reason
from portal.accounts import rules
from portal.accounts.models import Team
from portal.audit.models import AuditEvent
from portal.jobs.models import Job
from portal.query_params import datetime_param

from .models import Blueprint, Environment, ImageVersion


def environment_list(*, user: Any, filters: dict[str, str] | None = None,
                     include_destroyed: bool = False) -> QuerySet[Environment]:
    """Environments ``user`` may see (own, team's, or all for Managers/Platform admins), filtered.

    Destroyed ones only when filtered by that status or with ``include_destroyed`` (an environment's own
    page keeps showing it once destroyed, so a page open during the destroy ends on "destroyed")."""
    queryset = Environment.objects.select_related("cluster", "team", "owner", "blueprint", "current_revision")
    visible = rules.visible_filter(user)
    if visible is not None:
        queryset = queryset.filter(visible)
    filters = filters or {}
    if filters.get("status") == "drifted":
        queryset = queryset.exclude(status=Environment.DESTROYED).exclude(Q(drift=[]) & Q(moved_tags=[]))
    elif filters.get("status") == "any":
        pass  # live and destroyed: the reports' "created in a week" counts link here
    elif filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    elif not include_destroyed:
        queryset = queryset.exclude(status=Environment.DESTROYED)
    if filters.get("team"):
        queryset = queryset.filter(team__slug=filters["team"])
    if filters.get("stage"):
        queryset = queryset.filter(stage=filters["stage"])
    if filters.get("q"):
        queryset = queryset.filter(name__icontains=filters["q"])
    return _time_filtered(queryset, filters)


def _time_filtered(queryset: QuerySet[Environment], filters: dict[str, str]) -> QuerySet[Environment]:
    # The managers' reports link each figure here (environments/reports): owner, creation and destruction
    # times ([after, before)), and idleness, so the list shows exactly the environments a figure counts.
    if filters.get("owner"):
        queryset = queryset.filter(owner__username=filters["owner"])
    if created_after := datetime_param(filters, "created_after"):
        queryset = queryset.filter(created_at__gte=created_after)
    if created_before := datetime_param(filters, "created_before"):
        queryset = queryset.filter(created_at__lt=created_before)
    destroyed_after, destroyed_before = datetime_param(filters, "destroyed_after"), datetime_param(filters,
                                                                                                   "destroyed_before")
    if destroyed_after or destroyed_before:
        # Environments keep no destruction time; the audit trail's "environment.destroyed" event is it.
        events = AuditEvent.objects.filter(action="environment.destroyed", outcome=AuditEvent.SUCCESS,
                                           object_type="environments.environment",
                                           object_id=Cast(OuterRef("pk"), CharField()))
        if destroyed_after:
            events = events.filter(timestamp__gte=destroyed_after)
        if destroyed_before:
            events = events.filter(timestamp__lt=destroyed_before)
        queryset = queryset.filter(Exists(events))
    if idle_before := datetime_param(filters, "idle_before"):
        # Non-production, with no activity since then (or never): the reports' idle environments.
        queryset = queryset.exclude(stage__in=rules.PRODUCTION_STAGES).filter(
            Q(sleep_state__last_activity_at__lt=idle_before) | Q(sleep_state__last_activity_at__isnull=True))
    return queryset


def environment_list_on_cluster(*, user: Any, cluster: Cluster) -> QuerySet[Environment]:
    """The live environments on ``cluster`` that ``user`` may see, by name (the cluster page's list)."""
    return environment_list(user=user).filter(cluster=cluster).exclude(status=Environment.DESTROYED).order_by("name")


def environments_expiring(*, user: Any, hours: float) -> QuerySet[Environment]:
    """The user's own live environments that expire within ``hours`` (the dashboard's notice)."""
    return environment_list(user=user).filter(owner=user, expires_at__lt=timezone.now() + timedelta(hours=hours))


def versions_by_component(blueprint: Blueprint) -> dict[str, list[ImageVersion]]:
    """For the version picker: each component's versions, newest first."""
    return {c.name: list(c.versions.filter(removed_from_registry=False)) for c in blueprint.components.order_by("name")}


LIFECYCLE_JOB_KINDS = ("rollout", "destroy")


def latest_rollout_job(environment: Environment, *, kinds: tuple[str, ...] | None = None):
    """The newest job about this environment (rollout, destroy, data copy…), or of ``kinds`` only."""
    jobs = Job.objects.filter(target_type="environments.environment", target_id=str(environment.pk))
    return (jobs.filter(kind__in=kinds) if kinds else jobs).first()


def _option(value: str, label: str, selected: str | None) -> dict[str, Any]:
    return {"value": value, "label": label, "selected": value == selected}


def version_choices(blueprint: Blueprint, selected: dict[str, str] | None = None) -> dict[str, dict[str, list]]:
    """The version picker's options per component: follow a tag (newest first, with pushed-at) or pin its digest.

    ``selected`` (component → reference) marks the chosen option; a selected reference that is no longer
    offered (its tag was deleted from the registry, or an older pin) stays available, so an update form
    never changes a component the user did not touch.
    """
    selected = selected or {}
    choices = {}
    for name, versions in versions_by_component(blueprint).items():
        current = selected.get(name)
        tags = [_option(v.tag, v.tag + (f" · pushed {v.pushed_at:%Y-%m-%d %H:%M}" if v.pushed_at else ""), current)
                for v in versions]
        pins = [_option(f"{v.tag}@{v.digest}", f"{v.tag} @ {v.digest[:19]}… (pinned)", current)
                for v in versions if v.digest]
        if current and not any(o["selected"] for o in tags + pins):
            tags.insert(0, _option(current, f"{current} (current; no longer in the registry)", current))
        choices[name] = {"tags": tags, "pins": pins}
    return choices


def teams_for_new_environment(user: Any) -> QuerySet[Team]:
    """The teams ``user`` may create environments for: their own; every team for a Platform admin."""
    return Team.objects.all() if rules.is_platform_admin(user) else Team.objects.filter(members=user)


@dataclass
class NewEnvironmentChoices:
    """What "New environment" (form and API) preselects, and why a choice is empty when it is."""

    cluster: Any = None
    team: Any = None
    blueprint: Any = None
    # field name -> why there is nothing to pick there, and what to do about it
    empty: dict[str, str] = field(default_factory=dict)
    cluster_state: str = ""  # NoClusterReason.state when there is no cluster: "building", "none", …

    def fill(self, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` with an omitted cluster, team or blueprint set to its default (the API's create).

        Raises ValidationError naming each field that is missing and has no default, with the reason.
        """
        values, errors = dict(values), {}
        for name in ("cluster", "team", "blueprint"):
            if values.get(name) is None:
                values[name] = getattr(self, name)
                if values[name] is None:
                    errors[name] = [self.empty.get(name) or f"Choose a {name}: there are several and no default."]
        if errors:
            raise ValidationError(errors)
        return values


def new_environment_choices(*, user: Any) -> NewEnvironmentChoices:
    """Defaults for a new environment of ``user``: the only (or default) cluster, their team (the one of
    their latest environment when they are in several), the only blueprint; plus why a list is empty."""
    choices = NewEnvironmentChoices()
    clusters = clusters_for_placement()
    choices.cluster = clusters.filter(is_default=True).first() or (clusters.first() if clusters.count() == 1
                                                                   else None)
    if choices.cluster is None and (reason := no_cluster_reason()) is not None:
        choices.empty["cluster"], choices.cluster_state = reason.message, reason.state
    allowed = teams_for_new_environment(user)
    own = allowed.filter(members=user) if user.is_authenticated else allowed.none()
    candidates = own if own.exists() else allowed
    if candidates.count() == 1:
        choices.team = candidates.first()
    elif user.is_authenticated:
        last = Environment.objects.filter(owner=user, team__in=candidates).values_list("team", flat=True).first()
        choices.team = candidates.filter(pk=last).first() if last else None
    if not allowed.exists():
        choices.empty["team"] = ("You are not in any team yet, and environments belong to a team: ask a Platform "
                                 "admin to add you to one.")
    blueprints = Blueprint.objects.all()
    if blueprints.count() == 1:
        choices.blueprint = blueprints.first()
    elif not blueprints.exists():
        choices.empty["blueprint"] = ("No blueprint exists yet: a Platform admin can create one (Catalog → "
                                      "Blueprints), or `python manage.py seed_demo_blueprint` adds the demo one.")
    return choices


def clone_default_team(*, user: Any, source: Environment) -> Team | None:
    """The team a clone of ``source`` goes to unless told: the source's when ``user`` may use it, else the same
    default as "New environment"."""
    if teams_for_new_environment(user).filter(pk=source.team_id).exists():
        return source.team
    return new_environment_choices(user=user).team
