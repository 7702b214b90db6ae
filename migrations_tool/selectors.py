from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from environments.models import Environment
from environments.selectors import environment_list
from portal.accounts import rules
from portal.query_params import id_param

from .models import KIND_NAMES, KINDS, DataCopy, DataStore


def data_copy_list(*, user: Any, filters: dict[str, str] | None = None) -> QuerySet[DataCopy]:
    """Copies ``user`` may see (into environments of their teams, or all for Managers/admins), filtered."""
    queryset = DataCopy.objects.select_related("source", "target", "team", "started_by", "job")
    visible = rules.visible_filter(user, owner_field="started_by")
    if visible is not None:
        queryset = queryset.filter(visible)
    filters = filters or {}
    if filters.get("state"):
        queryset = queryset.filter(state=filters["state"])
    if filters.get("environment"):
        name = filters["environment"]
        queryset = queryset.filter(source__name=name) | queryset.filter(target__name=name)
    target = id_param(filters, "target", what="the target environment's id")
    if target is not None:
        queryset = queryset.filter(target_id=target)
    if filters.get("team"):
        queryset = queryset.filter(team__slug=filters["team"])
    return queryset.order_by("-created_at")


def data_store_list(*, user: Any, environment_id: int | None = None) -> QuerySet[DataStore]:
    queryset = DataStore.objects.select_related("environment", "environment__team", "server")
    visible = rules.visible_filter(user, owner_field="environment__owner", team_field="environment__team")
    if visible is not None:
        queryset = queryset.filter(visible)
    if environment_id is not None:
        queryset = queryset.filter(environment_id=environment_id)
    return queryset.exclude(state=DataStore.REMOVED)


@dataclass
class CopySources:
    """What "Copy data from…" may offer for ``target``: the kinds of store it has, the environments that have
    a store of one of those kinds (with the kinds they share), and, when something is left out, why."""

    kinds: list[str]
    sources: QuerySet[Environment]
    shared: dict[int, list[str]] = field(default_factory=dict)  # source id -> kinds it shares with the target
    notes: list[str] = field(default_factory=list)

    def label(self, source: Environment) -> str:
        return f"{source.name} ({source.get_stage_display()}, {source.team.slug}) — {', '.join(self.shared[source.pk])}"


def _kind_names(kinds: list[str]) -> str:
    names = [dict(KINDS)[k] for k in kinds]
    return " or ".join(names) if len(names) < 3 else f"{', '.join(names[:-1])} or {names[-1]}"


def copy_sources(*, user: Any, target: Environment) -> CopySources:
    """Environments ``user`` may copy from into ``target``: visible, not being destroyed, and with a ready
    store of a kind ``target`` also has. ``notes`` say why the list is short or empty, and what to do."""
    kinds = [k for k in KIND_NAMES if target.data_stores.filter(kind=k, state=DataStore.READY).exists()]
    candidates = environment_list(user=user).exclude(pk=target.pk).exclude(status=Environment.DESTROYING)
    pairs = DataStore.objects.filter(environment__in=candidates, state=DataStore.READY, kind__in=kinds).values_list(
        "environment_id", "kind")
    shared: dict[int, list[str]] = {}
    for environment_id, kind in pairs:
        shared.setdefault(environment_id, []).append(kind)
    shared = {pk: [k for k in KIND_NAMES if k in found] for pk, found in shared.items()}
    result = CopySources(kinds=kinds, sources=candidates.filter(pk__in=list(shared)), shared=shared)
    if not kinds:
        result.notes.append(f"{target.name} has no data store: its blueprint ({target.blueprint}) declares no "
                            f"MySQL/MariaDB, Redis or S3 backing service, so there is nothing to copy into.")
        return result
    left_out = candidates.count() - len(shared)
    if not shared:
        result.notes.append(f"No other environment you can see has a store of the kind{'s' if len(kinds) > 1 else ''} "
                            f"{target.name} has ({_kind_names(kinds).replace(' or ', ', ')}) to copy from. "
                            f"Create one from a blueprint with that backing service (e.g. {target.blueprint}); only "
                            f"environments you can see (your teams') are offered.")
    elif left_out:
        result.notes.append(f"{left_out} other environment{'s' if left_out != 1 else ''} you can see "
                            f"{'are' if left_out != 1 else 'is'} not listed: no {_kind_names(kinds)} store.")
    return result

