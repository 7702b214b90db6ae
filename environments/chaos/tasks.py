"""Celery tasks of chaos experiments: thin wrappers over the job bodies the use cases enqueue.

The periodic (beat) task that finishes due undos is in ``periodic.py``.
"""

from portal.accounts import authz
from portal.jobs.runner import job_target, job_task

from .run_job import run_chaos


def _may_run(user, job) -> bool:
    return authz.chaos_can(user, authz.CHANGE, job_target(job))


chaos_run = job_task("environments.chaos_run", authorize=_may_run)(run_chaos)
