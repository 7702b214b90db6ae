"""The websocket plumbing every live stream shares: authorize on connect, then send through a
bounded outbox with flow control.

Why an outbox: ``send()`` to daphne never blocks; a slow browser's messages pile up in the
server's transport buffer without bound. Streams therefore queue messages here (bounded in
items and bytes) and a single writer task sends them. With ``ACK_WINDOW`` set, the writer keeps
at most that many batches unacknowledged by the browser (``{"ack": seq}``), which turns a slow
reader into a full outbox. A producer that can pause (a pod log read) first waits for room
(``wait_for_room``, at most ``PAUSE_SECONDS``), so a briefly slow browser loses nothing; past
that, what happens is the stream's policy:

* ``drop``: droppable messages (log lines) are counted and skipped, and a ``skipped`` marker
  tells the viewer how many (live logs are not stored, so there is nothing to replay);
* ``close``: the connection is closed (4408) and the client reconnects, replaying what it
  missed from storage (job events have sequence numbers and a stored backlog).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from portal.observability.process_metrics import WEBSOCKETS

CLOSE_BAD_REQUEST = 4400
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_OVERFLOW = 4408


class Outbox:
    """A bounded FIFO of outgoing messages; ``put`` never blocks."""

    def __init__(self, *, max_items: int, max_bytes: int) -> None:
        self.max_items, self.max_bytes = max_items, max_bytes
        self.items: deque[tuple[dict | str, int]] = deque()
        self.size = 0
        self.skipped = 0
        self.overflowed = False
        self.ready = asyncio.Event()
        # Set while below half capacity; cleared at three quarters. Producers that can pause
        # (a pod log read) wait on it, so a briefly slow browser slows the read, not drops lines.
        self.room = asyncio.Event()
        self.room.set()

    def put(self, message: dict | str, *, size: int, droppable: bool) -> bool:
        full = len(self.items) >= self.max_items or self.size + size > self.max_bytes
        if full and droppable:
            self.skipped += 1
            self.ready.set()  # the writer reports the skip even if nothing else follows
            return False
        if full:
            self.overflowed = True
        self.items.append((message, size))
        self.size += size
        self.ready.set()
        if len(self.items) * 4 >= self.max_items * 3 or self.size * 4 >= self.max_bytes * 3:
            self.room.clear()
        return True

    def take(self, *, max_items: int, max_bytes: int) -> list[dict | str]:
        taken: list[dict | str] = []
        budget = max_bytes
        while self.items and len(taken) < max_items and (not taken or self.items[0][1] <= budget):
            message, size = self.items.popleft()
            self.size -= size
            budget -= size
            taken.append(message)
        if not self.items:
            self.ready.clear()
        if len(self.items) * 2 < self.max_items and self.size * 2 < self.max_bytes:
            self.room.set()
        return taken


class StreamConsumer(AsyncJsonWebsocketConsumer):
    """Base for one-way live streams. Subclasses implement ``load_object`` and ``on_open``.

    Messages go out with ``push``; with ``BATCHED`` the writer sends what is queued as one frame
    (``{"type": "batch", "seq": n, "items": [...]}``) so a busy stream costs one frame per batch,
    not per line, and the browser acknowledges ``seq``.
    """

    OVERFLOW = "drop"  # or "close"
    MAX_ITEMS = 20_000
    MAX_BYTES = 8 * 1024 * 1024
    ACK_WINDOW: int | None = None  # batches in flight before the writer waits for the browser
    BATCH_ITEMS = 1000
    BATCH_BYTES = 512 * 1024
    PAUSE_SECONDS = 5.0
    BATCHED = True  # False: each message is its own frame (the job stream's protocol)
    # During a burst (the previous frame went out less than BURST_SECONDS ago and carried at least
    # BURST_ITEMS messages) a short wait lets lines coalesce into few frames (each costs a JSON encode,
    # a frame and an acknowledgement). Anything else goes out at once: a line of a container writing a
    # few lines a second is not a burst, and waiting for it was most of the live logs' latency
    # (bench/logs_stream.py: 8.8 ms against kubectl's 3.4 ms, 2.9 ms without the wait).
    COALESCE_SECONDS = 0.005
    BURST_SECONDS = 0.05
    BURST_ITEMS = 100

    object: Any = None

    async def load_object(self) -> Any:
        raise NotImplementedError

    async def authorize(self, obj: Any) -> bool:
        """Whether the connecting user may follow ``obj``; subclasses ask their kind's authz function."""
        return False  # fail closed: a stream that does not say who may follow it serves nobody

    async def on_open(self) -> None:
        """Called after accept(): start producing (tasks go in ``self.tasks``)."""

    async def on_close(self) -> None:
        """Called on disconnect after the stream's tasks are cancelled."""

    async def on_message(self, content: dict) -> None:
        """A client message other than an acknowledgement."""

    async def connect(self) -> None:
        self.tasks: list[asyncio.Task] = []
        self.outbox = Outbox(max_items=self.MAX_ITEMS, max_bytes=self.MAX_BYTES)
        self.sent_seq = self.acked_seq = 0
        self.last_sent = 0.0
        self.last_batch = 0  # messages in the last frame sent
        self.overflowing = False
        self.acked = asyncio.Event()
        obj = await self.load_object()
        if obj is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        if not await self.authorize(obj):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.object = obj
        await self.accept()
        WEBSOCKETS.labels(type(self).__name__).inc()  # the class names the stream: a bounded label
        self.tasks.append(asyncio.ensure_future(self._writer()))
        await self.on_open()

    async def disconnect(self, code: int) -> None:
        tasks, self.tasks = getattr(self, "tasks", []), []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.object is not None:
            WEBSOCKETS.labels(type(self).__name__).dec()
            await self.on_close()

    async def dispatch(self, message: dict) -> None:
        # An acknowledgement touches no database: it skips Channels' close_old_connections before each
        # handler, a trip to the database thread per frame (a tenth of a busy log stream's CPU in
        # daphne, py-spy on bench/logs_stream.py).
        text = message.get("text") if message["type"] == "websocket.receive" else None
        if text and text.startswith('{"ack":'):
            with contextlib.suppress(ValueError):
                if self._acknowledge(json.loads(text)):
                    return
        await super().dispatch(message)

    def _acknowledge(self, content: Any) -> bool:
        if not (isinstance(content, dict) and isinstance(content.get("ack"), int)):
            return False
        self.acked_seq = max(self.acked_seq, min(content["ack"], self.sent_seq))
        self.acked.set()
        return True

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not self._acknowledge(content):
            await self.on_message(content if isinstance(content, dict) else {})

    async def wait_for_room(self) -> None:
        """Pause a producer while the outbox is nearly full, for at most PAUSE_SECONDS.

        After a pause runs out the producer goes on and lines are dropped (and counted) until
        the outbox has room again: a browser that stays slow must not hold the source back
        for ever (the API server would buffer for us, then time out).
        """
        if self.outbox.room.is_set():
            self.overflowing = False
            return
        if self.overflowing:
            return
        try:
            await asyncio.wait_for(self.outbox.room.wait(), self.PAUSE_SECONDS)
        except TimeoutError:
            self.overflowing = True

    def push(self, message: dict | str, *, droppable: bool = False, size: int | None = None) -> None:
        """Queue ``message`` for the writer. Never blocks; see the module docstring for overflow.

        A busy stream's producer may pass the message as its JSON text already (with ``size``): building
        a dict per line only for the frame's encoder to take it apart again cost a tenth of daphne's
        CPU on a busy log stream."""
        if isinstance(message, str):
            self.outbox.put(message, size=size or len(message), droppable=droppable and self.OVERFLOW == "drop")
            return
        if size is None:
            size = len(message.get("text", "")) + 64 if "text" in message else 256
        self.outbox.put(message, size=size, droppable=droppable and self.OVERFLOW == "drop")

    async def _writer(self) -> None:
        while True:
            if self.outbox.overflowed and self.OVERFLOW == "close":
                await self.close(code=CLOSE_OVERFLOW)
                return
            while self.ACK_WINDOW is not None and self.sent_seq - self.acked_seq >= self.ACK_WINDOW:
                self.acked.clear()
                await self.acked.wait()
            await self.outbox.ready.wait()
            loop = asyncio.get_running_loop()
            if (self.BATCHED and len(self.outbox.items) < self.BATCH_ITEMS and self.last_batch >= self.BURST_ITEMS
                    and loop.time() - self.last_sent < self.BURST_SECONDS):
                await asyncio.sleep(self.COALESCE_SECONDS)
            skipped, self.outbox.skipped = self.outbox.skipped, 0
            if skipped:
                await self._send([{"type": "marker", "kind": "skipped",
                                   "text": f"{skipped} lines skipped: the browser could not keep up",
                                   "count": skipped}])
            await self._send(self.outbox.take(max_items=self.BATCH_ITEMS, max_bytes=self.BATCH_BYTES))

    async def _send(self, messages: list[dict | str]) -> None:
        if not messages:
            return
        if not self.BATCHED:
            for message in messages:
                await self.send_json(message)
            return
        self.sent_seq += 1
        self.last_sent, self.last_batch = asyncio.get_running_loop().time(), len(messages)
        # A message may come already encoded (a log line, see ``push``): the frame is joined as text.
        items = ",".join(m if isinstance(m, str) else json.dumps(m, separators=(",", ":")) for m in messages)
        await self.send(text_data=f'{{"type":"batch","seq":{self.sent_seq},"items":[{items}]}}')
