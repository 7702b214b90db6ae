"""Celery tasks of the orphan sweeper: the sweep and removal jobs (the beat trigger is in ``periodic.py``)."""

from portal.accounts import authz
from portal.jobs.runner import job_task

from .orphan_removal import run_orphan_removal
from .orphan_sweep import run_orphan_sweep


def _may_change(user, job) -> bool:
    return authz.orphans_can(user, authz.CHANGE)


orphans_sweep_job = job_task("environments.orphans_sweep_job", authorize=_may_change)(run_orphan_sweep)
orphans_remove_job = job_task("environments.orphans_remove_job", authorize=_may_change)(run_orphan_removal)
