"""The catalog's reads: its filtered lists, and what a blueprint version defines."""

from __future__ import annotations

from typing import Any

from django.db.models import Count

from ..personal_data import personal_data_normalised
from .models import Blueprint


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


def blueprint_definition(blueprint: Blueprint) -> dict[str, Any]:
    """What a blueprint version defines, in the shape ``blueprint_save`` takes (and compares)."""
    return {"description": blueprint.description,
            "components": sorted(blueprint.components.values_list("name", flat=True)),
            "backing_services": backing_services_normalised(blueprint.backing_services),
            "stage_overrides": dict(blueprint.stage_overrides or {}),
            "personal_data": personal_data_normalised(blueprint.personal_data)}


def backing_services_normalised(backing_services: Any) -> Any:
    """The backing services with ``may_sleep`` spelled out (absent: false, as versions saved before the flag
    existed mean), so an old version and the same definition saying ``may_sleep: false`` compare equal.
    Anything but a list of mappings is returned as it is, for validation to refuse; a given value is never
    coerced (validation refuses a non-boolean)."""
    if not isinstance(backing_services, list):
        return [] if backing_services is None else backing_services
    return [{**b, "may_sleep": b.get("may_sleep", False)} if isinstance(b, dict) else b for b in backing_services]


def blueprint_personal_data_kept(latest: Blueprint | None) -> Any:
    """What a definition that says nothing about personal data declares: the latest version's (the
    model's default for a new name), so a client that does not know the field drops no classification."""
    return latest.personal_data if latest is not None else Blueprint._meta.get_field("personal_data").get_default()


def blueprint_latest(name: str) -> Blueprint | None:
    """The newest version of blueprint ``name``, or None when there is none."""
    return Blueprint.objects.filter(name=name).order_by("-version").first()
