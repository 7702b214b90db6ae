"""Orphaned namespaces: labelled ``managed-by=slipway``, marked as this installation's (annotation
``slipway.io/owner-marker``), and used by no environment of the cluster that is not destroyed.

A namespace without a marker (made before markers, or by hand with the label) or with another
installation's marker is never reported: nothing proves it is ours to delete. Cost: the running pods'
requests at the cluster's prices, for a month.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings

from clusters.kube.client import api_client
from clusters.kube.managed_namespaces import ManagedNamespace, managed_namespace, managed_namespaces
from clusters.kube.namespace_lifecycle import delete_namespace
from clusters.models import Cluster

from ..cost.prices import hourly_cost, prices_for
from ..models import Environment
from ..render.labels import OWNER, TEAM
from .models import Orphan
from .orphan_findings import (
    Finding,
    OrphanKind,
    Sweep,
    marked_environment,
    monthly,
    our_instance_ids,
)


def _clusters() -> list[Cluster]:
    return list(Cluster.objects.exclude(kubeconfig="").order_by("name"))


def _user_of(namespace: str, cluster_id: int) -> Environment | None:
    return (Environment.objects.exclude(status=Environment.DESTROYED)
            .filter(cluster_id=cluster_id, namespace=namespace).first())


def _finding(cluster: Cluster, ns: ManagedNamespace, environment_id: int) -> Finding:
    prices = prices_for(cluster)
    hourly = hourly_cost(prices, cpu_cores=ns.cpu_cores, memory_gib=ns.memory_gib)
    details: dict[str, Any] = {"environment": ns.environment, "environment_id": environment_id,
                               "owner_marker": ns.owner_marker, "running_pods": ns.running_pods,
                               "cpu_cores": ns.cpu_cores, "memory_gib": ns.memory_gib,
                               "team": ns.labels.get(TEAM, ""),
                               "owner": ns.labels.get(OWNER, ""),
                               "cost_basis": "running pods' requests x the cluster's prices x 730 h"}
    return Finding(Orphan.NAMESPACE, cluster.name, ns.name, details, monthly(hourly), prices.currency)


def find_namespaces(log: Callable[[str], None]) -> Sweep:
    sweep = Sweep()
    ours = our_instance_ids()
    for cluster in _clusters():
        try:
            with api_client(cluster.kubeconfig) as api:
                namespaces = managed_namespaces(api)
        except Exception as exc:  # an unreachable cluster: its namespaces are neither found nor gone
            sweep.problems.append(f"cluster {cluster.name}: {type(exc).__name__}: {exc}")
            continue
        sweep.scopes.add((Orphan.NAMESPACE, cluster.name))
        used = set(Environment.objects.exclude(status=Environment.DESTROYED).filter(cluster=cluster)
                   .values_list("namespace", flat=True))
        for ns in namespaces:
            env_id = marked_environment(ns.owner_marker, ours)
            if env_id is None or ns.name in used or ns.terminating:
                continue
            sweep.findings.append(_finding(cluster, ns, env_id))
        log(f"cluster {cluster.name}: {len(namespaces)} Slipway namespace(s), {len(used)} in use")
    return sweep


def namespace_still_orphan(orphan: Orphan) -> str | None:
    cluster = Cluster.objects.filter(name=orphan.location).first()
    if cluster is None:
        return f"cluster {orphan.location} is no longer registered"
    if user := _user_of(orphan.name, cluster.pk):
        return f"environment {user.name} (#{user.pk}) uses namespace {orphan.name} now"
    with api_client(cluster.kubeconfig) as api:
        ns = managed_namespace(api, orphan.name)
    if ns is None:
        return None  # gone already: removing it is a no-op
    if ns.owner_marker != orphan.details.get("owner_marker"):
        return f"namespace {orphan.name} now carries owner marker {ns.owner_marker or '(none)'}"
    return None


def namespace_remove(orphan: Orphan) -> None:
    cluster = Cluster.objects.get(name=orphan.location)
    with api_client(cluster.kubeconfig) as api:
        delete_namespace(api, orphan.name, timeout=settings.SLIPWAY_DESTROY_TIMEOUT_SECONDS)


NAMESPACES = OrphanKind(kinds=(Orphan.NAMESPACE,), find=find_namespaces,
                                        still_orphan=namespace_still_orphan, remove=namespace_remove)
