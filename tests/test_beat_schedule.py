"""Every periodic (beat) entry names a task that is registered as soon as Django is set up.

Beat sends tasks by name; the beat tasks live in each app's ``periodic.py``, which its AppConfig.ready
imports (issue 15), so the worker and every other process know them without importing ``tasks.py``.
"""

from portal.celery import app


def test_every_beat_entry_names_a_registered_task(settings):
    names = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]
    assert names, "the beat schedule is empty"
    assert not [name for name in names if name not in app.tasks]
