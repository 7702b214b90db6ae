"""The one helper through which tasks report a job's output and progress.

Output is saved first, in batches, then broadcast to the job's channel group after the commit
(AWX's order), so a browser that joins late reads the backlog from the database and never misses
a line that was broadcast before it subscribed.
"""

from __future__ import annotations

import logging
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from portal.redaction import StreamRedactor, redact

from .lease import JobLeaseLost
from .models import Job, JobEvent

logger = logging.getLogger(__name__)

# Keep channel messages small; bigger batches are announced and read from the database.
_MAX_BROADCAST_BYTES = 64 * 1024


def broadcast(job: Job, events: list[JobEvent]) -> None:
    """Send saved events to the job's websocket group (best effort: the database is the truth)."""
    layer = get_channel_layer()
    if layer is None or not events:
        return
    payload = [e.as_message() for e in events]
    size = sum(len(e["text"]) for e in payload)
    message = {"type": "job.events", "events": payload if size <= _MAX_BROADCAST_BYTES else [],
               "last_seq": events[-1].seq, "state": job.state, "progress": job.progress, "message": job.message}
    try:
        async_to_sync(layer.group_send)(job.group_name, message)
    except Exception:  # a dropped broadcast costs latency only: consumers also read the database
        logger.warning("job %s: broadcast failed", job.pk, exc_info=True)


class JobReporter:
    """Buffers a job's log lines and writes them with progress in batches; call ``close()``.

    Given the ``lease_owner`` its delivery holds, every write first checks the lease is still that owner's
    and raises ``JobLeaseLost`` otherwise, so a worker that stalled while another took the job over stops at
    its next line instead of writing beside it.
    """

    def __init__(self, job: Job, *, flush_seconds: float = 0.5, flush_lines: int = 200, lease_owner: str = "") -> None:
        self.job = job
        self.lease_owner = lease_owner
        self.flush_seconds = flush_seconds
        self.flush_lines = flush_lines
        self._lines: list[str] = []
        self._last_flush = time.monotonic()
        self._stream = StreamRedactor()

    def log(self, text: str) -> None:
        """One line (or several) of output; secrets are masked before anything is stored or sent."""
        self._lines.append(redact(text.rstrip("\n")))
        self._maybe_flush()

    def write(self, chunk: str) -> None:
        """Raw output as it arrives from a pipe: lines are stored once complete, so a secret split
        between two writes is still masked (see ``StreamRedactor``)."""
        complete = self._stream.feed(chunk)
        if complete:
            self._lines.extend(complete.rstrip("\n").split("\n"))
            self._maybe_flush()

    def _maybe_flush(self) -> None:
        if len(self._lines) >= self.flush_lines or time.monotonic() - self._last_flush >= self.flush_seconds:
            self._write([])  # an unfinished streamed line stays held back until its end arrives

    def progress(self, percent: int, message: str = "") -> None:
        percent = max(0, min(100, int(percent)))
        message = redact(message)
        # The job row keeps a one-line summary (its column holds 300 characters: a wait that lists twenty
        # components waiting is longer); the event keeps the whole text.
        limit = Job._meta.get_field("message").max_length
        summary = message if len(message) <= limit else message[:limit - 1] + "…"
        self._write([JobEvent(kind=JobEvent.PROGRESS, progress=percent, text=message)],
                    progress=percent, message=summary)

    def start(self) -> None:
        fields = {"state": Job.RUNNING, "attempts": self.job.attempts + 1}
        if self.job.started_at is None:
            fields["started_at"] = timezone.now()
        note = "started" if self.job.attempts == 0 else f"restarted (attempt {self.job.attempts + 1})"
        self._write([JobEvent(kind=JobEvent.STATE, state=Job.RUNNING, text=note)], **fields)

    def finish(self, state: str, *, error: str = "") -> None:
        error = redact(error)
        # A finished job is nobody's: its lease ends with it.
        fields = {"state": state, "finished_at": timezone.now(), "error": error, "lease_owner": "", "lease_until": None}
        if state == Job.SUCCEEDED:
            fields["progress"] = 100
        self._write([JobEvent(kind=JobEvent.STATE, state=state, text=error or state,
                              progress=fields.get("progress"))], **fields)

    def flush(self) -> None:
        """Store everything, including an unfinished streamed line (the job body is done writing)."""
        rest = self._stream.close()
        if rest:
            self._lines.append(rest)
        if self._lines:
            self._write([])

    def _write(self, extra: list[JobEvent], **job_fields) -> None:
        events = [JobEvent(kind=JobEvent.LOG, text="\n".join(self._lines))] if self._lines else []
        events += extra
        self._lines = []
        self._last_flush = time.monotonic()
        with transaction.atomic():
            job = Job.objects.select_for_update().get(pk=self.job.pk)
            if self.lease_owner and job.lease_owner != self.lease_owner:
                raise JobLeaseLost(f"job {job.pk} was taken over by {job.lease_owner or 'nobody'}; "
                                   f"{self.lease_owner} stops")
            for offset, event in enumerate(events):
                event.job = job
                event.seq = job.next_seq + offset
            JobEvent.objects.bulk_create(events)
            job.next_seq += len(events)
            for name, value in job_fields.items():
                setattr(job, name, value)
            job.save()
            self.job = job
            transaction.on_commit(lambda: broadcast(job, events))
