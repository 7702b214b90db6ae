"""Celery tasks of the clusters app: thin wrappers over the services."""

from celery import shared_task

from portal.audit.actor import Actor
from portal.jobs.runner import job_task

from .addons import run_addons_install

addons_install = job_task("clusters.addons_install")(run_addons_install)


@shared_task(name="clusters.health_check")
def health_check(cluster_id: int) -> str | None:
    """Check one cluster's health now (after registration). Idempotent; a cluster deleted meanwhile is skipped."""
    from .models import Cluster
    from .services import cluster_check_health

    cluster = Cluster.objects.filter(pk=cluster_id).first()
    if cluster is None:
        return None
    return cluster_check_health(actor=Actor.system("cluster-health"), cluster=cluster).status


@shared_task(name="clusters.health_check_all")
def health_check_all() -> dict[str, str]:
    """Periodic (beat): check every cluster that has credentials; returns name → status."""
    from .models import Cluster
    from .services import cluster_check_health

    actor = Actor.system("cluster-health")
    return {cluster.name: cluster_check_health(actor=actor, cluster=cluster).status
            for cluster in Cluster.objects.exclude(kubeconfig="")}
