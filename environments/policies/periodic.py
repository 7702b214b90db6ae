"""The policies' beat task, registered through ``environments/periodic.py``: TTL that extends on activity
(the body is ``services.environments_ttl_extend_on_activity``)."""

from __future__ import annotations

from celery import shared_task

from .services import environments_ttl_extend_on_activity


@shared_task(name="environments.policy_ttl_extend")
def policy_ttl_extend() -> list[int]:
    """Periodic (beat): push the expiry of recently active environments in stages that extend on activity."""
    return environments_ttl_extend_on_activity()
