"""Celery tasks of the clusters app: thin wrappers over the Terraform job bodies, and periodic work."""

from celery import shared_task

from portal.jobs.runner import job_task

from .terraform_jobs import run_apply, run_plan

terraform_plan = job_task("clusters.terraform_plan")(run_plan)
terraform_apply = job_task("clusters.terraform_apply")(run_apply)


@shared_task(name="clusters.terraform_drift_check_all")
def terraform_drift_check_all() -> list[int]:
    """Periodic (beat): a drift-check run for every Terraform-managed cluster that is idle."""
    from .drift import clusters_drift_check_all

    return clusters_drift_check_all()


@shared_task(name="clusters.terraform_reap_interrupted")
def terraform_reap_interrupted() -> list[int]:
    """Periodic (beat): mark runs whose worker died as interrupted."""
    from .terraform_jobs import reap_interrupted

    return reap_interrupted()
