"""Celery tasks of the data copies: thin wrappers over job bodies, and the store reaper."""

from celery import shared_task

from portal.accounts import authz
from portal.jobs.runner import job_target, job_task

from .copy_jobs import run_data_copy, run_data_copy_undo


def _may_write_target(user, job) -> bool:
    # Both jobs write the copy's target environment (job_create(target=target)).
    return authz.data_copy_can(user, authz.CREATE, job_target(job))


data_copy = job_task("migrations_tool.data_copy", authorize=_may_write_target)(run_data_copy)
data_copy_undo = job_task("migrations_tool.data_copy_undo", authorize=_may_write_target)(run_data_copy_undo)


@shared_task(name="migrations_tool.deprovision_due")
def deprovision_due() -> int:
    """Periodic (beat): remove destroyed environments' stores once their undo window has passed."""
    from .data_store_provisioning import data_stores_deprovision_due

    return data_stores_deprovision_due()
