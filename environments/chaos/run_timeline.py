"""A chaos run's timeline: every step is an event on the run (``ChaosRun.events``) AND a line in its
job's log, which the browser follows live over the job's websocket.

Watch observations arrive on the watch's own threads; they are buffered here and written by the run's
thread (``flush``), which owns the database connection and the job reporter.
"""

from __future__ import annotations

import threading
from datetime import datetime

from django.utils import timezone

from portal.jobs.reporting import JobReporter

from .models import ChaosRun


class Timeline:
    """Appends events to ``run.events`` (saved on ``flush``) and logs them to the job."""

    def __init__(self, run: ChaosRun, reporter: JobReporter) -> None:
        self.run, self.reporter = run, reporter
        self.events: list[dict[str, str]] = list(run.events or [])
        self._pending: list[dict[str, str]] = []
        self._lock = threading.Lock()

    def add(self, kind: str, message: str, *, at: datetime | None = None, flush: bool = True) -> None:
        """One event; ``at`` is when it happened (a watch event's receipt time), else now."""
        event = {"at": (at or timezone.now()).isoformat(), "kind": kind, "message": message}
        with self._lock:
            self._pending.append(event)
        if flush:
            self.flush()

    def observe(self, observation) -> None:
        """``RecoveryWatch``'s ``on_event``: called from the watch threads, so only buffered."""
        self.add(observation.kind, observation.message, at=observation.at, flush=False)

    def flush(self) -> None:
        """Write the buffered events to the run and the job's log (the run's thread only)."""
        with self._lock:
            pending, self._pending = self._pending, []
        if not pending:
            return
        pending.sort(key=lambda e: e["at"])
        self.events.extend(pending)
        ChaosRun.objects.filter(pk=self.run.pk).update(events=self.events)
        self.run.events = self.events
        for event in pending:
            self.reporter.log(f"{event['at'][11:23]} {event['kind']}: {event['message']}")
