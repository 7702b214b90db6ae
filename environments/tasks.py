"""Celery tasks of the environments app: thin wrappers over job bodies."""

from portal.jobs.runner import job_task

from .rollout import run_rollout

rollout = job_task("environments.rollout")(run_rollout)
