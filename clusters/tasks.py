"""Celery tasks of the clusters app: thin wrappers over the Terraform and add-on job bodies, and periodic work."""

from celery import shared_task

from portal.accounts import authz
from portal.audit.actor import Actor
from portal.jobs.runner import job_task

from .addons import run_addons_install
from .terraform_jobs import run_apply, run_plan


def _may_run_terraform(user, job) -> bool:
    return authz.terraform_run_can(user, authz.CHANGE)


def _may_change_cluster(user, job) -> bool:
    return authz.cluster_can(user, authz.CHANGE)


terraform_plan = job_task("clusters.terraform_plan", authorize=_may_run_terraform)(run_plan)
terraform_apply = job_task("clusters.terraform_apply", authorize=_may_run_terraform)(run_apply)
addons_install = job_task("clusters.addons_install", authorize=_may_change_cluster)(run_addons_install)


@shared_task(name="clusters.terraform_drift_check_all")
def terraform_drift_check_all() -> list[int]:
    """Periodic (beat): a drift-check run for every Terraform-managed cluster that is idle."""
    from .terraform_drift import clusters_drift_check_all

    return clusters_drift_check_all()


@shared_task(name="clusters.terraform_reap_interrupted")
def terraform_reap_interrupted() -> list[int]:
    """Periodic (beat): mark runs whose worker died as interrupted."""
    from .terraform_jobs import reap_interrupted

    return reap_interrupted()


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
