"""Celery tasks of the jobs app (autodiscovered by the worker): thin wrappers over job bodies."""

from .runner import job_task
from .selfcheck import run_selfcheck

selfcheck = job_task("portal.jobs.selfcheck")(run_selfcheck)
