"""The job-stream websocket: authorize on connect, replay what the browser has not seen, follow.

Events reach the consumer two ways: channel-layer broadcasts (fast) and a database read every
``SLIPWAY_JOB_STREAM_POLL_SECONDS`` (the fallback that makes the in-memory layer, which does not
cross processes, and a dropped Redis message harmless). Sequence numbers deduplicate the two.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from portal.accounts import rules

from .models import Job
from .selectors import job_events_after

CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


class JobStreamConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.job_id = self.scope["url_route"]["kwargs"]["job_id"]
        self.last_seq = 0
        self.poller: asyncio.Task | None = None
        self.lock = asyncio.Lock()
        job = await self._load_job()
        if job is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        if not await database_sync_to_async(rules.can_view)(self.scope["user"], job):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        try:
            self.last_seq = max(0, int(query.get("after", ["0"])[0]))
        except ValueError:
            self.last_seq = 0
        self.group = job.group_name
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self._catch_up()
        self.poller = asyncio.ensure_future(self._poll())

    async def disconnect(self, code: int) -> None:
        if self.poller is not None:
            self.poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.poller
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        # The stream is one-way; a client message only asks for a resync.
        await self._catch_up()

    async def job_events(self, message: dict) -> None:
        async with self.lock:
            events = message.get("events") or []
            if events and events[0]["seq"] == self.last_seq + 1:
                for event in events:
                    await self.send_json({"type": "event", **event})
                self.last_seq = events[-1]["seq"]
                await self._send_status(message)
                return
        if message.get("last_seq", 0) > self.last_seq:
            await self._catch_up()

    async def _poll(self) -> None:
        interval = settings.SLIPWAY_JOB_STREAM_POLL_SECONDS
        while True:
            await asyncio.sleep(interval)
            await self._catch_up()

    async def _catch_up(self) -> None:
        async with self.lock:
            job = await self._load_job()
            if job is None:
                return
            while True:
                events = await database_sync_to_async(job_events_after)(job, self.last_seq)
                for event in events:
                    await self.send_json({"type": "event", **event.as_message()})
                    self.last_seq = event.seq
                if len(events) < 1000:
                    break
            await self._send_status({"state": job.state, "progress": job.progress, "message": job.message})

    async def _send_status(self, status: dict) -> None:
        key = (status["state"], status["progress"], status.get("message", ""), self.last_seq)
        if key == getattr(self, "last_status", None):
            return
        self.last_status = key
        await self.send_json({"type": "status", "state": status["state"], "progress": status["progress"],
                              "message": status.get("message", ""), "last_seq": self.last_seq})

    @database_sync_to_async
    def _load_job(self) -> Job | None:
        return Job.objects.filter(pk=self.job_id).first()
