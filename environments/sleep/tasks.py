"""Celery tasks of sleeping: thin wrappers over the sleep and wake job bodies (sleep_jobs.py)."""

from portal.accounts import authz
from portal.jobs.runner import job_target, job_task

from .sleep_jobs import run_sleep, run_wake


def _may_sleep_target(user, job) -> bool:
    return authz.sleep_can(user, authz.CHANGE, job_target(job))


sleep = job_task("environments.sleep", authorize=_may_sleep_target)(run_sleep)
wake = job_task("environments.wake", authorize=_may_sleep_target)(run_wake)
