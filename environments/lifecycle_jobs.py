"""Starting an environment's rollout job: the one step environment and hostname services share.

Its own module because it imports the Celery tasks, which import the job bodies (rollout.py,
destroy.py); ``lifecycle.py``, which those bodies use, must stay below them.
"""

from __future__ import annotations

from portal.audit.actor import Actor
from portal.jobs.services import job_create

from .lifecycle import failed_when_unqueued
from .models import Environment, EnvironmentRevision, Rollout
from .tasks import rollout


def rollout_start(*, actor: Actor, environment: Environment, revision: EnvironmentRevision) -> Rollout:
    """Record a rollout of ``revision`` and queue its job (run once the caller's transaction commits).

    The caller sets the environment's status (``lifecycle.environment_transition``) in the same transaction.
    """
    job = job_create(actor=actor, kind="rollout", title=f"Roll out {environment.name} r{revision.number}",
                     task=rollout, target=environment, team=environment.team,
                     on_unqueued=failed_when_unqueued(environment, actor=actor))
    return Rollout.objects.create(environment=environment, revision=revision, job=job)
