"""Celery tasks of the environments app: thin wrappers over the job bodies that the use cases enqueue.

The periodic (beat) tasks — TTL reaper, drift check, versions sync, DNS sweep — are in ``periodic.py``.
"""

from portal.accounts import authz
from portal.jobs.runner import job_target, job_task

from .destroy import run_destroy
from .hostnames.tasks import dns_sweep_job  # noqa: F401  (registers the task)
from .rollout import run_rollout
from .sleep.tasks import sleep, wake  # noqa: F401  (registers the tasks)


def _may_change_target(user, job) -> bool:
    return authz.environment_can(user, authz.CHANGE, job_target(job))


rollout = job_task("environments.rollout", authorize=_may_change_target)(run_rollout)
destroy = job_task("environments.destroy", authorize=_may_change_target)(run_destroy)
