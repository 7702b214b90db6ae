"""Periodic (beat) tasks of the data copies; ``apps.py`` registers them (settings.CELERY_BEAT_SCHEDULE names them).

Beat entry points call use cases, and use cases enqueue the tasks of ``tasks.py``: kept apart so that
``tasks.py`` never imports a use case.
"""

from celery import shared_task

from .data_store_provisioning import data_stores_deprovision_due


@shared_task(name="migrations_tool.deprovision_due")
def deprovision_due() -> int:
    """Periodic (beat): remove destroyed environments' stores once their undo window has passed."""
    return data_stores_deprovision_due()
