"""Periodic (beat) tasks of the environments app; ``apps.py`` registers them (settings.CELERY_BEAT_SCHEDULE
names them).

Beat entry points call use cases (the TTL reaper destroys through ``services``), and use cases enqueue
the tasks of ``tasks.py``: kept apart so that ``tasks.py`` never imports a use case.
"""

from celery import shared_task

from .catalog.periodic import versions_sync  # noqa: F401  (registers the task)
from .chaos.periodic import chaos_undo_due_task  # noqa: F401  (registers the task)
from .chaos.tasks import chaos_run  # noqa: F401  (registers the task in every process)
from .cost.periodic import cost_sample  # noqa: F401  (registers the task)
from .drift_checks import environments_drift_check_all
from .hostnames.periodic import dns_sweep  # noqa: F401  (registers the task)
from .orphans.periodic import orphans_sweep  # noqa: F401  (registers the task)
from .policies.periodic import policy_ttl_extend  # noqa: F401  (registers the task)
from .services import environments_expire
from .sleep.periodic import sleep_tick_task  # noqa: F401  (registers the task)


@shared_task(name="environments.expire")
def expire() -> list[int]:
    """Periodic (beat): destroy environments past their expiry."""
    return environments_expire()


@shared_task(name="environments.drift_check")
def drift_check() -> int:
    """Periodic (beat): record drift for every ready environment."""
    return environments_drift_check_all()
