"""The undo window of a data copy: how long its snapshots are kept (``SLIPWAY_DATA_COPY_UNDO_HOURS``).

Its own module because the copy job, the store reaper and the use cases all ask it, and the job
bodies must not import the use cases (which enqueue those jobs).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone


def undo_deadline() -> datetime:
    """When a copy finished now stops being undoable (and a retired store may be removed)."""
    return timezone.now() + timedelta(hours=settings.SLIPWAY_DATA_COPY_UNDO_HOURS)
