"""Drift use cases: compare the live cluster with the current revision, and reconcile it."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from clusters.kube.apply import PRUNABLE_KINDS
from clusters.kube.client import reachable_api
from clusters.kube.live_diff import ObjectDrift, detect_drift, reconcile
from clusters.kube.owner_labels import ownership_selector
from portal.accounts import authz
from portal.audit.actor import Actor
from portal.audit.services import audited

from .catalog.versions import moved_tags
from .models import Environment
from .render import render
from .sleep.selectors import drifts_not_from_sleep
from .snapshot import spec_for

logger = logging.getLogger(__name__)


def _check(environment: Environment) -> tuple[list[dict], list[ObjectDrift]]:
    manifests = render(spec_for(environment, environment.current_revision))
    with reachable_api(environment.cluster.kubeconfig, environment.cluster.api_server) as api:
        drifts = detect_drift(api, manifests, namespace=environment.namespace,
                              selector=ownership_selector(environment.name), prunable_kinds=PRUNABLE_KINDS)
    return manifests, drifts_not_from_sleep(environment, drifts)


def _as_json(drifts: list[ObjectDrift]) -> list[dict[str, Any]]:
    rows = []
    for drift in drifts:
        row = asdict(drift)
        row["key"] = list(drift.key)
        row["changes"] = [{k: v if isinstance(v, (str, int, float, bool, type(None))) else str(v)
                           for k, v in change.items()} for change in row["changes"]]
        rows.append(row)
    return rows


def environment_drift_check(*, actor: Actor, environment: Environment, user: Any = None) -> list[dict[str, Any]]:
    """Record (and audit) which objects drifted from the current revision; [] means in sync.

    A check writes (the drift record, the moved-tags flag), so a person needs CHANGE of the
    environment (Managers read the result, they do not trigger it); ``user=None`` is the system.
    """
    with audited(actor=actor, action="environment.drift_check", obj=environment) as scope:
        scope.team_slug = environment.team.slug
        if user is not None and not authz.environment_can(user, authz.CHANGE, environment):
            raise PermissionDenied("You can check drift of your own teams' non-production environments only.")
        # The registry side first: it needs no cluster, so an unreachable cluster still gets this flag.
        moved = moved_tags(environment)
        Environment.objects.filter(pk=environment.pk).update(moved_tags=moved)
        scope.details["moved_tags"] = [f"{m['component']}:{m['tag']}" for m in moved]
        _, drifts = _check(environment)
        rows = _as_json(drifts)
        Environment.objects.filter(pk=environment.pk).update(drift=rows, drift_checked_at=timezone.now())
        scope.details.update(drifted=len(rows), objects=["/".join(r["key"][1::2]) for r in rows],
                             changed_by=sorted({m for r in rows for m in r["changed_by"]}))
    return rows


def environment_reconcile(*, actor: Actor, user: Any, environment: Environment) -> list[dict[str, Any]]:
    """Re-apply the current revision over any drift and prune extras; returns what remains (normally [])."""
    with audited(actor=actor, action="environment.reconcile", obj=environment) as scope:
        scope.team_slug = environment.team.slug
        if user is not None and not authz.environment_can(user, authz.CHANGE, environment):
            raise PermissionDenied("You can reconcile environments of your own teams only.")
        if environment.status not in (Environment.READY, Environment.FAILED):
            raise ValidationError("Reconcile a ready or failed environment, not one that is " + environment.status)
        manifests, drifts = _check(environment)
        with reachable_api(environment.cluster.kubeconfig, environment.cluster.api_server) as api:
            results = reconcile(api, manifests, drifts, namespace=environment.namespace,
                                selector=ownership_selector(environment.name))
        scope.details.update(reapplied=[f"{r.key[1]}/{r.key[3]}" for r in results if r.action != "unchanged"])
    return environment_drift_check(actor=actor, environment=environment)


def environments_drift_check_all() -> int:
    """Periodic: check every ready environment (the system actor audits each check)."""
    actor = Actor.system("drift-checker")
    checked = 0
    for environment in Environment.objects.filter(status=Environment.READY).select_related("cluster", "team"):
        try:
            environment_drift_check(actor=actor, environment=environment)
        except Exception:  # one unreachable cluster must not stop the others; the failure is audited
            logger.warning("drift check of %s failed", environment.name, exc_info=True)
            continue
        checked += 1
    return checked
