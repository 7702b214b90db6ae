"""The Celery application; broker and backend come from settings (Redis or the filesystem)."""

import os

from celery import Celery

# Request ids into tasks, task metrics and the worker's metrics server (receivers connect on import).
from portal.observability import task_signals  # noqa: F401

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("slipway")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
