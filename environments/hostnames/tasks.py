"""Celery tasks for hostnames: the sweep job (its periodic trigger is in ``periodic.py``)."""

from portal.accounts import authz
from portal.jobs.runner import job_task

from .sweep import run_dns_sweep

dns_sweep_job = job_task("environments.dns_sweep_job",
                         authorize=lambda user, job: authz.operations_can(user, authz.CHANGE))(run_dns_sweep)
