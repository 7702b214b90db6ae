"""The job-stream websocket: authorize on connect, replay what the browser has not seen, follow.

Connect-time authorization and the bounded outbox come from ``portal.streaming`` (shared with
the live log stream).

Events reach the consumer two ways: channel-layer broadcasts (fast) and a database read every
``SLIPWAY_JOB_STREAM_POLL_SECONDS`` (the fallback that makes the in-memory layer, which does not
cross processes, and a dropped Redis message harmless). Sequence numbers deduplicate the two.
"""

from __future__ import annotations

import asyncio
import random
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.conf import settings

from portal.accounts import authz
from portal.streaming import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, StreamConsumer

from .models import Job
from .selectors import job_events_after

__all__ = ["CLOSE_FORBIDDEN", "CLOSE_NOT_FOUND", "JobStreamConsumer"]


class JobStreamConsumer(StreamConsumer):
    # Job events are stored: an overflowing client is disconnected and replays from its last seq.
    OVERFLOW = "close"
    BATCHED = False

    async def load_object(self) -> Job | None:
        self.job_id = self.scope["url_route"]["kwargs"]["job_id"]
        return await self._load_job()

    async def authorize(self, obj: Job) -> bool:
        return await database_sync_to_async(authz.job_can)(self.scope["user"], authz.VIEW, obj)

    async def on_open(self) -> None:
        job = self.object
        self.lock = asyncio.Lock()
        query = parse_qs(self.scope.get("query_string", b"").decode())
        try:
            self.last_seq = max(0, int(query.get("after", ["0"])[0]))
        except ValueError:
            self.last_seq = 0
        self.group = job.group_name
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self._catch_up()
        self.tasks.append(asyncio.ensure_future(self._poll()))

    async def on_close(self) -> None:
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def on_message(self, content: dict) -> None:
        # The stream is one-way; a client message only asks for a resync.
        await self._catch_up()

    async def job_events(self, message: dict) -> None:
        async with self.lock:
            events = message.get("events") or []
            if events and events[0]["seq"] == self.last_seq + 1:
                for event in events:
                    self.push({"type": "event", **event})
                self.last_seq = events[-1]["seq"]
                self._send_status(message)
                return
        # A gap, or events already read by a catch-up that loaded the job's state before this
        # message's commit: re-read storage, so the final state is never lost.
        await self._catch_up()

    async def _poll(self) -> None:
        interval = settings.SLIPWAY_JOB_STREAM_POLL_SECONDS
        # Streams opened together (a page of viewers, a reconnect after a restart) poll spread over the
        # interval, not all in the same instant.
        await asyncio.sleep(random.uniform(0, interval))
        while True:
            await self._catch_up()
            await asyncio.sleep(interval)

    async def _catch_up(self) -> None:
        async with self.lock:
            while True:
                job, events = await self._read_after(self.last_seq)
                if job is None:
                    return
                for event in events:
                    self.push({"type": "event", **event.as_message()})
                    self.last_seq = event.seq
                if len(events) < 1000:
                    break
            self._send_status({"state": job.state, "progress": job.progress, "message": job.message})

    def _send_status(self, status: dict) -> None:
        key = (status["state"], status["progress"], status.get("message", ""), self.last_seq)
        if key == getattr(self, "last_status", None):
            return
        self.last_status = key
        self.push({"type": "status", "state": status["state"], "progress": status["progress"],
                   "message": status.get("message", ""), "last_seq": self.last_seq})

    @database_sync_to_async
    def _load_job(self) -> Job | None:
        return Job.objects.filter(pk=self.job_id).first()

    @database_sync_to_async
    def _read_after(self, seq: int) -> tuple[Job | None, list]:
        """The job and its events after ``seq`` in one database call: each call opens a connection (every
        open stream polls, so this halves what idle viewers cost the web process)."""
        job = Job.objects.filter(pk=self.job_id).first()
        return job, list(job_events_after(job, seq)) if job is not None else []
