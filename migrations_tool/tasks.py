"""Celery tasks of the data copies: thin wrappers over the job bodies that the use cases enqueue.

The periodic (beat) store reaper is in ``periodic.py``.
"""

from portal.accounts import authz
from portal.jobs.runner import job_target, job_task

from .copy_jobs import run_data_copy, run_data_copy_undo


def _may_write_target(user, job) -> bool:
    # Both jobs write the copy's target environment (job_create(target=target)).
    return authz.data_copy_can(user, authz.CREATE, job_target(job))


data_copy = job_task("migrations_tool.data_copy", authorize=_may_write_target)(run_data_copy)
data_copy_undo = job_task("migrations_tool.data_copy_undo", authorize=_may_write_target)(run_data_copy_undo)

