"""Periodic (beat) tasks of the clusters app; ``apps.py`` registers them (settings.CELERY_BEAT_SCHEDULE names them).

Beat entry points call use cases (a drift check starts runs through ``provisioning``), and use cases
enqueue the tasks of ``tasks.py``: kept apart so that ``tasks.py`` never imports a use case.
"""

from celery import shared_task

from portal.audit.actor import Actor

from .health import cluster_check_health
from .models import Cluster
from .terraform_drift import clusters_drift_check_all
from .terraform_jobs import reap_interrupted


@shared_task(name="clusters.terraform_drift_check_all")
def terraform_drift_check_all() -> list[int]:
    """Periodic (beat): a drift-check run for every Terraform-managed cluster that is idle."""
    return clusters_drift_check_all()


@shared_task(name="clusters.terraform_reap_interrupted")
def terraform_reap_interrupted() -> list[int]:
    """Periodic (beat): mark runs whose worker died as interrupted."""
    return reap_interrupted()


@shared_task(name="clusters.health_check_all")
def health_check_all() -> dict[str, str]:
    """Periodic (beat): check every cluster that has credentials; returns name → status."""
    actor = Actor.system("cluster-health")
    return {cluster.name: cluster_check_health(actor=actor, cluster=cluster).status
            for cluster in Cluster.objects.exclude(kubeconfig="")}
