"""A cluster's health check: reachability, version, nodes and allocatable capacity, recorded and audited.

Its own module because pages, the registration job and the periodic (beat) check all run it, and
the task that runs it is enqueued by the use cases in ``services.py``.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from portal.audit.actor import Actor
from portal.audit.services import audited
from portal.jobs.reporting import JobReporter
from portal.redaction import redact

from .kube import client as kubeclient
from .lifecycle import cluster_transition
from .models import Cluster


def cluster_check_health(*, actor: Actor, cluster: Cluster, reporter: JobReporter | None = None) -> Cluster:
    """Probe the API server and record reachability, version, nodes (ready of total) and allocatable
    CPU/memory summed over Ready nodes. Never raises on probe failure: the cluster is marked unreachable.
    ``reporter``: the job's log, when a job checks (the status change is written there too).
    """
    try:
        found = kubeclient.probe(cluster.kubeconfig)
    except Exception as exc:  # any failure means unreachable; the reason is shown to admins
        reason = kubeclient.connection_problem(exc, cluster.api_server or "?")
        status, message = Cluster.UNREACHABLE, redact(reason)[:500]
    else:
        status, message = Cluster.READY, ""
        cluster.server_version, cluster.node_count = found["version"], found["nodes"]
        cluster.nodes_ready = found["nodes_ready"]
        cluster.allocatable_cpu_millicores = found["allocatable_cpu_millicores"]
        cluster.allocatable_memory_bytes = found["allocatable_memory_bytes"]
        if found["nodes"] and not found["nodes_ready"]:
            message = "The API server answers but no node is Ready: nothing can be scheduled."
    cluster.last_checked_at = timezone.now()
    with audited(actor=actor, action="cluster.health_check", obj=cluster,
                 details={"status": status, "message": message,
                          "nodes": cluster.node_count, "nodes_ready": cluster.nodes_ready}):
        with transaction.atomic():
            cluster.save(update_fields=["server_version", "node_count", "nodes_ready", "allocatable_cpu_millicores",
                                        "allocatable_memory_bytes", "last_checked_at", "updated_at"])
            cluster_transition(cluster, status, actor=actor, message=message, reporter=reporter)
    return cluster
