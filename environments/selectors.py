from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from portal.accounts import rules

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
    return queryset


def environments_expiring(*, user: Any, hours: float) -> QuerySet[Environment]:
    """The user's own live environments that expire within ``hours`` (the dashboard's notice)."""
    from datetime import timedelta

    from django.utils import timezone

    return environment_list(user=user).filter(owner=user, expires_at__lt=timezone.now() + timedelta(hours=hours))


def versions_by_component(blueprint: Blueprint) -> dict[str, list[ImageVersion]]:
    """For the version picker: each component's versions, newest first."""
    return {c.name: list(c.versions.filter(removed_from_registry=False)) for c in blueprint.components.order_by("name")}


LIFECYCLE_JOB_KINDS = ("rollout", "destroy")


def latest_rollout_job(environment: Environment, *, kinds: tuple[str, ...] | None = None):
    """The newest job about this environment (rollout, destroy, data copy…), or of ``kinds`` only."""
    from portal.jobs.models import Job

    jobs = Job.objects.filter(target_type="environments.environment", target_id=str(environment.pk))
    return (jobs.filter(kind__in=kinds) if kinds else jobs).first()


def catalog_list(filterset_class, filters: dict[str, str] | None = None):
    """A catalog list (components, versions, blueprints, registries) filtered; (queryset, filterset).

    The catalog is readable by every signed-in role, so there is no row-level filter here.
    """
    model = filterset_class._meta.model
    related = {"Component": ["registry"], "ImageVersion": ["component"], "Blueprint": [], "Registry": []}
    queryset = model.objects.select_related(*related[model.__name__])
    if model.__name__ == "Blueprint":
        queryset = queryset.prefetch_related("components")
    if model.__name__ == "Component":
        # Meta.ordering does not apply to aggregated queries: keep the list (and its pages) in name order.
        queryset = queryset.annotate(versions_total=Count("versions")).order_by("name")
    filterset = filterset_class(filters or {}, queryset=queryset)
    return filterset.qs.distinct() if model.__name__ == "Blueprint" else filterset.qs, filterset


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
