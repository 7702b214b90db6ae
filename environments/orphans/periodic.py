"""The periodic (beat) trigger of the orphan sweep (``SLIPWAY_ORPHAN_SWEEP_SECONDS``); registered through
``environments/periodic.py``. Apart from ``tasks.py`` because it calls the use case that enqueues the job."""

from celery import shared_task
from django.core.exceptions import ValidationError

from portal.audit.actor import Actor

from .services import orphans_sweep_active, orphans_sweep_start


@shared_task(name="environments.orphans_sweep")
def orphans_sweep() -> str:
    """Periodic (beat): start a sweep job unless one is already queued or running; returns its id."""
    if active := orphans_sweep_active():
        return str(active.pk)
    try:
        return str(orphans_sweep_start(actor=Actor.system("orphan-sweeper"), user=None).pk)
    except ValidationError:  # an admin's sweep started in between
        active = orphans_sweep_active()
        return str(active.pk) if active else ""
