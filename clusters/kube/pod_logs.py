"""Live pod logs from the Kubernetes API, asyncio-native (aiohttp), merged across pods.

Why aiohttp rather than the kubernetes client: a followed log read blocks a thread in the sync
client, and closing it from another thread waits for the read timeout, so every disconnect would
hold a thread and a connection for up to that long. Here each follower is a task; cancelling it
closes its HTTP response at once, and the session closes every connection it opened. No threads.

A ``KubeLogSource`` watches the namespace's pods (list, then watch from the list's
resourceVersion, re-listing on 410 Gone or a dropped watch) and keeps one follower per selected
running container: pods that start join the stream, deleted pods leave it, each with a marker.
A dropped follower (API server restart, network) reconnects with exponential back-off from the
last timestamp it delivered, announcing it with a marker.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

from .client import AsyncEndpoint

# A longer line is cut (the rest is skipped up to its newline) so one runaway line cannot hold
# unbounded memory; 1 MiB lines pass whole.
MAX_LINE_BYTES = 2 * 1024 * 1024
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 30.0
WATCH_SECONDS = 300
# kwok (like some kubelets) answers a followed log request only with its first line, so an
# idle container with tail=0 would hold "ready" back: wait this long at most.
ATTACH_SECONDS = 3.0
# The API server writes each log line as its own HTTP chunk, TLS record and TCP segment, and a
# reader that keeps up wakes the event loop once per line: that wake (epoll, socket read, TLS
# buffer) cost about five times the line's own work. After a small chunk the follower leaves the
# socket unread this long, so the next wake finds hundreds of lines waiting in the kernel.
# Measured alone on 100,000 lines: 1.9 s of CPU and 34,000 lines/s without, 0.26 s and 89,000
# with 4 ms. A line that follows a quiet spell is not delayed; one in a burst waits at most this.
GATHER_SECONDS = 0.004
GATHER_BELOW = 64 * 1024

Resume = tuple[str, int]
# emit(message, droppable): the consumer's non-blocking put into its bounded outbox.
Emit = Callable[[dict, bool], None]


class PodSelection(Protocol):
    """Which pods and containers to follow, and from where (``environments.logs.selection.Selection``)."""

    @property
    def components(self) -> tuple[str, ...]: ...

    @property
    def container(self) -> str: ...

    @property
    def tail_lines(self) -> int | None: ...

    @property
    def since_seconds(self) -> int | None: ...

    @property
    def previous(self) -> bool: ...

    def label_selector(self) -> str: ...

    def wants(self, pod_name: str) -> bool: ...


@dataclass(frozen=True)
class Target:
    pod: str
    container: str
    uid: str


def _line(target: Target, raw: bytes) -> dict:
    text = raw.decode("utf-8", errors="replace").rstrip("\r")
    stamp, sep, rest = text.partition(" ")
    # timestamps=true always: the stamp resumes a dropped stream without duplicates, and the
    # page shows or hides it on its own.
    if not sep or not stamp[:4].isdigit():
        stamp, rest = "", text
    return {"pod": target.pod, "container": target.container, "ts": stamp, "text": rest}


class LineSplitter:
    """Bytes in, complete lines out; lines over ``limit`` are truncated with a note."""

    def __init__(self, limit: int = MAX_LINE_BYTES) -> None:
        self.limit = limit
        self.buffer = bytearray()
        self.cut = 0  # bytes skipped of the current over-long line

    def feed(self, chunk: bytes) -> list[bytes]:
        *complete, rest = chunk.split(b"\n")
        lines: list[bytes] = []
        if complete:
            first = 0
            if self.buffer or self.cut:  # a line begun in an earlier chunk ends here
                lines += self._complete(complete[0])
                first = 1
            # One split in C and no copy for a usual line (0.11 µs a line against 0.73 µs through the
            # buffer); only an over-long one takes the buffer's path to be cut.
            limit = self.limit
            lines += [part if len(part) <= limit else self._complete(part)[0]
                      for part in itertools.islice(complete, first, None)]
        self._keep(rest)
        return lines

    def _complete(self, tail: bytes) -> list[bytes]:
        self._keep(tail)
        line = bytes(self.buffer)
        if self.cut:
            line += f" … [{self.cut} more bytes not shown]".encode()
        self.buffer.clear()
        self.cut = 0
        return [line]

    def _keep(self, data: bytes) -> None:
        if self.cut:
            self.cut += len(data)
            return
        room = self.limit - len(self.buffer)
        self.buffer += data[:room]
        if len(data) > room:
            self.cut = len(data) - room


def _socket_transport(response: aiohttp.ClientResponse) -> asyncio.Transport | None:
    """The transport that reads the response's socket, under TLS if there is TLS.

    Pausing the TLS transport itself would only stop decrypting: the socket would still wake the
    loop for every segment. asyncio keeps the socket's transport in its TLS protocol (not public API);
    without it, lines are read as they come, as before.
    """
    transport = response.connection.transport if response.connection is not None else None
    return getattr(getattr(transport, "_ssl_protocol", None), "_transport", None) or transport


async def let_lines_gather(transport: asyncio.Transport | None) -> None:
    # Only a transport that is reading is paused here: one paused by aiohttp's or TLS's own flow
    # control is theirs to resume.
    if transport is None or transport.is_closing() or not transport.is_reading():
        return
    transport.pause_reading()
    try:
        await asyncio.sleep(GATHER_SECONDS)
    finally:
        if not transport.is_closing():
            transport.resume_reading()


class KubeLogSource:
    """Follows the selected containers of ``namespace`` until cancelled; never raises out of run()."""

    def __init__(self, endpoint: AsyncEndpoint, namespace: str, selection: PodSelection, emit: Emit, *,
                 session: aiohttp.ClientSession | None = None,
                 room: asyncio.Event | None = None,
                 wait_for_room: Callable[[], Awaitable[None]] | None = None) -> None:
        self.endpoint = endpoint
        self.namespace = namespace
        self.selection = selection
        self.emit = emit
        # Backpressure from the consumer: ``room`` is clear while its outbox is nearly full, and
        # ``wait_for_room`` pauses (bounded) until it is not.
        self.room, self.wait_for_room = room, wait_for_room
        self.session = session
        self.followers: dict[Target, asyncio.Task] = {}
        # Set once a follower's request is answered (or has failed): "ready" promises the viewer
        # that lines written from then on will reach it.
        self.attached: dict[Target, asyncio.Event] = {}
        self.resume: dict[Target, Resume] = {}

    # --- plumbing -------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return f"{self.endpoint.server}/api/v1/namespaces/{self.namespace}/{path}"

    def _marker(self, kind: str, text: str, **extra: Any) -> None:
        self.emit({"type": "marker", "kind": kind, "text": text, **extra}, False)

    async def run(self) -> None:
        own = self.session is None
        if own:
            # No total/read timeout: a quiet container is normal; cancellation ends the reads.
            self.session = aiohttp.ClientSession(headers=self.endpoint.headers,
                                                 timeout=aiohttp.ClientTimeout(total=None, connect=10))
        try:
            if self.selection.previous:
                await self._previous()
            else:
                await self._watch_pods()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # reported to the viewer; the consumer decides what next
            self._marker("error", f"Log stream failed: {type(exc).__name__}: {exc}"[:500])
        finally:
            await self._stop_all()
            if own:
                await self.session.close()

    async def _stop_all(self) -> None:
        tasks = list(self.followers.values())
        self.followers.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # --- pods -----------------------------------------------------------------------------
    def _targets(self, pod: dict) -> list[Target]:
        meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
        if meta.get("deletionTimestamp") or not self.selection.wants(meta["name"]):
            return []
        started = {s["name"] for s in status.get("containerStatuses") or []
                   if (s.get("state") or {}).get("running") or (s.get("state") or {}).get("terminated")}
        names = [c["name"] for c in spec.get("containers") or []]
        if self.selection.container:
            names = [n for n in names if n == self.selection.container]
        return [Target(meta["name"], name, meta["uid"]) for name in names if name in started]

    async def _list(self) -> tuple[list[dict], str]:
        params = {"labelSelector": self.selection.label_selector()} if self.selection.components else {}
        async with self.session.get(self._url("pods"), params=params, ssl=self.endpoint.ssl) as response:
            response.raise_for_status()
            body = await response.json()
        return body["items"], body["metadata"]["resourceVersion"]

    def _reconcile(self, pods: list[dict], *, initial: bool = False) -> None:
        wanted = {t for pod in pods for t in self._targets(pod)}
        for target in set(self.followers) - wanted:
            self._leave(target, "left the stream")
        for target in sorted(wanted - set(self.followers), key=lambda t: (t.pod, t.container)):
            self._join(target, initial=initial)

    def _join(self, target: Target, *, initial: bool = False) -> None:
        self._marker("pod-joined", f"{target.pod}/{target.container} joined", pod=target.pod,
                     container=target.container, initial=initial)
        self.attached[target] = asyncio.Event()
        self.followers[target] = asyncio.ensure_future(self._follow(target))

    def _leave(self, target: Target, why: str) -> None:
        task = self.followers.pop(target, None)
        self.attached.pop(target, None)
        self.resume.pop(target, None)
        if task is not None:
            task.cancel()
            self._marker("pod-left", f"{target.pod}/{target.container} {why}", pod=target.pod,
                         container=target.container)

    async def _watch_pods(self) -> None:
        delay = BACKOFF_FIRST
        pods: dict[str, dict] = {}
        initial = True
        while True:
            try:
                items, version = await self._list()
                pods = {p["metadata"]["uid"]: p for p in items}
                self._reconcile(list(pods.values()), initial=initial)
                if initial:
                    waits = [asyncio.ensure_future(e.wait()) for e in self.attached.values()]
                    if waits:
                        _, pending = await asyncio.wait(waits, timeout=ATTACH_SECONDS)
                        for waiter in pending:
                            waiter.cancel()
                    self._marker("ready", f"Following {len(self.followers)} container(s)")
                elif delay > BACKOFF_FIRST:
                    self._marker("reconnected", "Reconnected to the cluster")
                initial = False
                delay = BACKOFF_FIRST
                await self._watch(pods, version)
            except asyncio.CancelledError:
                raise
            except (TimeoutError, aiohttp.ClientError, OSError, ValueError, KeyError) as exc:
                self._marker("reconnecting", f"Lost the pod watch ({type(exc).__name__}); "
                                             f"retrying in {delay:.0f}s", retry_seconds=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)

    async def _watch(self, pods: dict[str, dict], version: str) -> None:
        """Follow pod changes until the watch ends (then the caller re-lists)."""
        params = {"watch": "1", "resourceVersion": version, "timeoutSeconds": str(WATCH_SECONDS),
                  "allowWatchBookmarks": "true"}
        if self.selection.components:
            params["labelSelector"] = self.selection.label_selector()
        async with self.session.get(self._url("pods"), params=params, ssl=self.endpoint.ssl) as response:
            response.raise_for_status()
            splitter = LineSplitter(limit=64 * 1024 * 1024)
            async for chunk in response.content.iter_any():
                for raw in splitter.feed(chunk):
                    event = json.loads(raw)
                    kind, obj = event["type"], event["object"]
                    if kind == "ERROR":  # 410 Gone: our version is too old; re-list
                        return
                    if kind == "BOOKMARK":
                        continue
                    if kind == "DELETED":
                        pods.pop(obj["metadata"]["uid"], None)
                    else:
                        pods[obj["metadata"]["uid"]] = obj
                    self._reconcile(list(pods.values()))

    # --- one container --------------------------------------------------------------------
    def _log_params(self, target: Target, *, follow: bool, resume_from: str) -> dict[str, str]:
        params = {"container": target.container, "timestamps": "true"}
        if follow:
            params["follow"] = "true"
        if resume_from:
            params["sinceTime"] = resume_from[:19] + "Z"  # second precision; duplicates skipped below
        else:
            if self.selection.tail_lines is not None:
                params["tailLines"] = str(self.selection.tail_lines)
            if self.selection.since_seconds is not None:
                params["sinceSeconds"] = str(max(1, self.selection.since_seconds))
        return params

    async def _read(self, target: Target, params: dict[str, str], resume: Resume) -> Resume:
        """Stream one log response into emit(); returns where a reconnect should resume.

        ``resume`` is (last timestamp delivered, how many lines carried exactly that timestamp):
        sinceTime has second precision and lines can share a timestamp, so a reconnect skips what
        it already delivered by position rather than by value alone. Progress is kept in
        ``self.resume`` after each chunk, so a connection that breaks mid-stream resumes right.
        """
        resumed_at, skip = resume
        last, same = resume
        async with self.session.get(self._url(f"pods/{target.pod}/log"), params=params,
                                    ssl=self.endpoint.ssl) as response:
            if response.status >= 400:
                detail = (await response.text())[:300]
                raise LogUnavailable(response.status, detail)
            if target in self.attached:
                self.attached[target].set()
            splitter = LineSplitter()
            wire = _socket_transport(response)
            async for chunk in response.content.iter_any():
                for raw in splitter.feed(chunk):
                    if self.room is not None and not self.room.is_set():
                        self.resume[target] = (last, same)
                        # Not reading lets TCP flow control hold the API server back meanwhile.
                        await self.wait_for_room()
                    line = _line(target, raw)
                    stamp = line["ts"]
                    if resumed_at and stamp:
                        if stamp < resumed_at:
                            continue
                        if stamp == resumed_at and skip:
                            skip -= 1
                            continue
                        resumed_at = ""  # past the resume point: deliver everything from here
                    if stamp and stamp == last:
                        same += 1
                    elif stamp:
                        last, same = stamp, 1
                    self.emit(line, True)
                # Kept per chunk (and before a pause): a broken connection surfaces only between chunks.
                self.resume[target] = (last, same)
                if len(chunk) < GATHER_BELOW:
                    await let_lines_gather(wire)
        return last, same

    async def _follow(self, target: Target) -> None:
        delay = BACKOFF_FIRST
        self.resume[target] = ("", 0)
        while True:
            before = self.resume[target]
            try:
                await self._read(target, self._log_params(target, follow=True, resume_from=before[0]), before)
            except asyncio.CancelledError:
                raise
            except LogUnavailable as exc:
                if exc.status in (400, 404):  # container gone or not started: the pod watch decides
                    self._marker("info", f"{target.pod}/{target.container}: {exc.detail}", pod=target.pod)
                    return
                self._marker("reconnecting", f"{target.pod}/{target.container}: HTTP {exc.status}; "
                                             f"retrying in {delay:.0f}s", pod=target.pod, retry_seconds=delay)
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                self._marker("reconnecting", f"{target.pod}/{target.container}: connection lost "
                                             f"({type(exc).__name__}); retrying in {delay:.0f}s",
                             pod=target.pod, retry_seconds=delay)
            if self.resume[target] != before:
                delay = BACKOFF_FIRST  # it was streaming: a fresh failure starts the back-off over
            if target in self.attached:
                self.attached[target].set()  # failed: do not hold "ready" back for it
            # Also after a clean end (container stopped, API server going away): try again; a
            # deleted pod's follower is cancelled by the pod watch meanwhile.
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)

    async def _previous(self) -> None:
        items, _ = await self._list()
        targets = sorted({t for pod in items for t in self._targets(pod)}, key=lambda t: (t.pod, t.container))
        self._marker("ready", f"Previous logs of {len(targets)} container(s)")
        for target in targets:
            self._marker("pod-joined", f"{target.pod}/{target.container} (previous container)", pod=target.pod,
                         container=target.container, initial=True)
            try:
                await self._read(target, {**self._log_params(target, follow=False, resume_from=""),
                                          "previous": "true"}, ("", 0))
            except LogUnavailable as exc:
                self._marker("info", f"{target.pod}/{target.container}: no previous logs ({exc.detail})",
                             pod=target.pod)
        self._marker("end", "End of the previous containers' logs")


class LogUnavailable(Exception):
    def __init__(self, status: int, body: str) -> None:
        try:
            detail = json.loads(body).get("message", body)
        except ValueError:
            detail = body
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = str(detail)[:300]
