"""Celery tasks of the environments app: thin wrappers over job bodies, and the TTL reaper."""

from celery import shared_task

from portal.accounts import authz
from portal.jobs.runner import job_target, job_task

from .catalog.tasks import versions_sync  # noqa: F401  (registers the task)
from .destroy import run_destroy
from .hostnames.tasks import dns_sweep, dns_sweep_job  # noqa: F401  (registers the tasks)
from .rollout import run_rollout


def _may_change_target(user, job) -> bool:
    return authz.environment_can(user, authz.CHANGE, job_target(job))


rollout = job_task("environments.rollout", authorize=_may_change_target)(run_rollout)
destroy = job_task("environments.destroy", authorize=_may_change_target)(run_destroy)


@shared_task(name="environments.expire")
def expire() -> list[int]:
    """Periodic (beat): destroy environments past their expiry."""
    from .services import environments_expire

    return environments_expire()


@shared_task(name="environments.drift_check")
def drift_check() -> int:
    """Periodic (beat): record drift for every ready environment."""
    from .drift_checks import environments_drift_check_all

    return environments_drift_check_all()
