"""Cluster use cases: register an existing cluster by kubeconfig, and check its health."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from portal.audit.actor import Actor
from portal.audit.services import audited
from portal.crypto import redact

from . import kubeclient
from .models import Cluster


def _facts(cluster: Cluster) -> dict:
    return {"kind": cluster.kind, "api_server": cluster.api_server, "is_default": cluster.is_default}


def cluster_register(*, actor: Actor, name: str, kind: str, kubeconfig: str, make_default: bool = False) -> Cluster:
    """Create or update the cluster ``name`` from a kubeconfig (idempotent). Raises ValidationError."""
    with audited(actor=actor, action="cluster.register", details={"name": name, "kind": kind}) as scope:
        try:
            facts = kubeclient.parse_kubeconfig(kubeconfig)
        except kubeclient.KubeconfigError as exc:
            raise ValidationError({"kubeconfig": [str(exc)]}) from exc
        with transaction.atomic():
            cluster = Cluster.objects.select_for_update().filter(name=name).first()
            before = _facts(cluster) if cluster else None
            if make_default:
                Cluster.objects.filter(is_default=True).exclude(name=name).update(is_default=False)
            cluster = cluster or Cluster(name=name, created_by_id=actor.user_id)
            cluster.kind, cluster.kubeconfig, cluster.api_server = kind, kubeconfig, facts["server"]
            cluster.is_default = make_default or cluster.is_default
            cluster.full_clean(exclude=["kubeconfig"])
            cluster.save()
        scope.obj = cluster
        scope.details.update(before=before, after=_facts(cluster))
    return cluster


def cluster_check_health(*, actor: Actor, cluster: Cluster) -> Cluster:
    """Probe the API server and record status, version and node count (never raises on probe failure)."""
    try:
        found = kubeclient.probe(cluster.kubeconfig)
    except Exception as exc:  # any failure means unreachable; the reason is shown to admins
        cluster.status, cluster.status_message = Cluster.UNREACHABLE, redact(f"{type(exc).__name__}: {exc}")[:500]
    else:
        cluster.status, cluster.status_message = Cluster.READY, ""
        cluster.server_version, cluster.node_count = found["version"], found["nodes"]
    cluster.last_checked_at = timezone.now()
    with audited(actor=actor, action="cluster.health_check", obj=cluster,
                 details={"status": cluster.status, "message": cluster.status_message}):
        cluster.save(update_fields=["status", "status_message", "server_version", "node_count", "last_checked_at",
                                    "updated_at"])
    return cluster
