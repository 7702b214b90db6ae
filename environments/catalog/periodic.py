"""Periodic (beat) task of the catalog: the image version sync (registered by ``environments/periodic.py``)."""

from celery import shared_task

from .version_sync import components_versions_sync_all


# The name stays "environments.versions_sync": the beat schedule and messages already queued refer to it.
@shared_task(name="environments.versions_sync")
def versions_sync() -> dict[str, str]:
    """Periodic (beat): sync the image versions of every component linked to a registry."""
    return components_versions_sync_all()
