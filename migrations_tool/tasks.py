"""Celery tasks of the data copies: thin wrappers over job bodies, and the store reaper."""

from celery import shared_task

from portal.jobs.runner import job_task

from .engine import run_data_copy, run_data_copy_undo

data_copy = job_task("migrations_tool.data_copy")(run_data_copy)
data_copy_undo = job_task("migrations_tool.data_copy_undo")(run_data_copy_undo)


@shared_task(name="migrations_tool.deprovision_due")
def deprovision_due() -> int:
    """Periodic (beat): remove destroyed environments' stores once their undo window has passed."""
    from .provisioning import data_stores_deprovision_due

    return data_stores_deprovision_due()
