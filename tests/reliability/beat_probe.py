"""The Celery app the beats of ``test_several_processes`` run: Slipway's own app and beat scheduler (the leader
lock), with one harmless periodic entry every half second, published to a queue no worker reads, so the test
can read every message and see which beat sent it (each message's ``origin`` header names the sender's pid).
"""

import os

from portal.celery import app

__all__ = ["app"]

PROBE_ENTRY = "multiproc-probe"
app.conf.beat_schedule = {
    PROBE_ENTRY: {"task": "clusters.health_check_all", "schedule": 0.5,
                  "options": {"queue": os.environ["SLIPWAY_BEAT_PROBE_QUEUE"]}},
}
