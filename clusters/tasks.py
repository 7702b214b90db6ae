"""Celery tasks of the clusters app: thin wrappers over the Terraform, add-on and health-check job bodies
that the use cases enqueue. The periodic (beat) tasks are in ``periodic.py``."""

from celery import shared_task

from portal.accounts import authz
from portal.audit.actor import Actor
from portal.jobs.runner import job_task

from .addons import run_addons_install
from .health import cluster_check_health
from .models import Cluster
from .terraform_jobs import run_apply, run_plan


def _may_run_terraform(user, job) -> bool:
    return authz.terraform_run_can(user, authz.CHANGE)


def _may_change_cluster(user, job) -> bool:
    return authz.cluster_can(user, authz.CHANGE)


terraform_plan = job_task("clusters.terraform_plan", authorize=_may_run_terraform)(run_plan)
terraform_apply = job_task("clusters.terraform_apply", authorize=_may_run_terraform)(run_apply)
addons_install = job_task("clusters.addons_install", authorize=_may_change_cluster)(run_addons_install)


@shared_task(name="clusters.health_check")
def health_check(cluster_id: int) -> str | None:
    """Check one cluster's health now (after registration). Idempotent; a cluster deleted meanwhile is skipped."""
    cluster = Cluster.objects.filter(pk=cluster_id).first()
    if cluster is None:
        return None
    return cluster_check_health(actor=Actor.system("cluster-health"), cluster=cluster).status
