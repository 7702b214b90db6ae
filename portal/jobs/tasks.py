"""Celery tasks of the jobs app (autodiscovered by the worker): thin wrappers over job bodies."""

from portal.accounts import authz

from .runner import job_task
from .selfcheck import run_selfcheck

selfcheck = job_task("portal.jobs.selfcheck",
                     authorize=lambda user, job: authz.operations_can(user, authz.CHANGE))(run_selfcheck)
