"""The log followers the live-logs bench times, each in a process of its own (bench/logs_stream.py).

A browser and `kubectl logs -f` each run in their own process. Timed from one bench process, the
websocket viewer's frame decoding, the plain follow request's reading and the thread that read
kubectl's output shared one interpreter: the bench process used three times the web process's CPU,
and whichever of them the interpreter served first set every figure. So each follower here is a child
process that prints one line per awaited line it sees, ``seen <text> <time.perf_counter()> <lines>``
(one clock for all processes on Linux: CLOCK_MONOTONIC; ``lines``: how many it has received so far,
so the bench can tell a fast follower from one that lost lines), and the bench reads only those.

Run: ``python bench/log_clients.py kubectl|websocket|api '<json arguments>'``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a program: the project's packages are importable from here on
from clusters.kube.client import async_endpoint  # noqa: E402  (importable once the project root is on sys.path)

Report = Callable[[str], None]


class Marks:
    """The awaited lines a follower saw: when, and how many lines it had received by then (reported as
    ``seen <text> <time> <lines>`` when ``report`` is set)."""

    def __init__(self, report: Report | None = None) -> None:
        self.report = report
        self.seen: dict[str, float] = {}
        self.events: dict[str, asyncio.Event] = {}

    def note(self, text: str, at: float, lines: int) -> None:
        self.seen[text] = at
        if self.report:
            self.report(f"seen {text} {at} {lines}")
        if text in self.events:
            self.events[text].set()

    async def wait_for(self, text: str, timeout: float = 300) -> float:
        if text not in self.seen:
            await asyncio.wait_for(self.events.setdefault(text, asyncio.Event()).wait(), timeout)
        return self.seen[text]


class WebsocketViewer(Marks):
    """A websocket client that acknowledges each batch (as the page does) and notes marks."""

    def __init__(self, session, url: str, headers: dict[str, str], report: Report | None = None) -> None:
        super().__init__(report)
        self.session, self.url, self.headers = session, url, headers
        self.lines = 0
        self.ready = asyncio.Event()
        self.error = ""

    async def run(self) -> None:
        try:
            async with self.session.ws_connect(self.url, headers=self.headers, max_msg_size=0) as ws:
                async for msg in ws:
                    data = json.loads(msg.data)
                    for item in data["items"]:
                        if item.get("type") == "marker":
                            self._marker(item)
                            continue
                        self.lines += 1
                        text = item["text"]
                        if text.startswith("mark-"):
                            self.note(text, time.perf_counter(), self.lines)
                    await ws.send_str(json.dumps({"ack": data["seq"]}))
        except Exception as exc:  # counted as an error in the report
            self.error = f"{type(exc).__name__}: {exc}"
            self.ready.set()
            if self.report:
                self.report(f"error {self.error}")

    def _marker(self, item: dict) -> None:
        if item["kind"] == "ready":
            self.ready.set()
            if self.report:
                self.report("ready")
        elif item["kind"] in ("skipped", "error"):
            self.error = item["text"]
            if self.report:
                self.report(f"error {self.error}")


class ApiFollower(Marks):
    """Follows one container's log straight from the API server (`GET …/pods/<pod>/log?follow=true`,
    aiohttp, the endpoint and credentials Slipway's log source uses) and notes when marks arrive."""

    def __init__(self, kubeconfig: str, namespace: str, pod: str, container: str,
                 report: Report | None = None) -> None:
        super().__init__(report)
        self.endpoint = async_endpoint(Path(kubeconfig).read_text())
        self.url = f"{self.endpoint.server}/api/v1/namespaces/{namespace}/pods/{pod}/log"
        self.params = {"container": container, "follow": "true", "timestamps": "true", "tailLines": "0"}
        self.lines = 0

    async def run(self) -> None:
        async with aiohttp.ClientSession(headers=self.endpoint.headers) as session, \
                session.get(self.url, params=self.params, ssl=self.endpoint.ssl) as response:
            response.raise_for_status()
            rest = b""
            async for chunk in response.content.iter_any():
                *lines, rest = (rest + chunk).split(b"\n")
                now = time.perf_counter()
                for line in lines:
                    self.lines += 1
                    text = line.partition(b" ")[2]
                    if text.startswith(b"mark-"):
                        self.note(text.decode(), now, self.lines)


class Follower:
    """One child process of this module; a thread records the lines it reports."""

    def __init__(self, kind: str, **arguments: str) -> None:
        self.kind = kind
        # Its own process group: the kubectl follower's kubectl goes with it on stop (left behind, it follows
        # the pod until its next line, or for ever once the bench's namespace is gone).
        self.proc = subprocess.Popen([sys.executable, __file__, kind, json.dumps(arguments)], cwd=ROOT,
                                     stdout=subprocess.PIPE, text=True, start_new_session=True)
        self.seen: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.received = 0  # lines received up to the latest line reported
        self.ready = False
        self.error = ""
        self.lock = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for row in self.proc.stdout:
            what, _, rest = row.rstrip("\n").partition(" ")
            with self.lock:
                if what == "seen":
                    text, at, count = rest.rsplit(" ", 2)
                    self.seen[text] = float(at)
                    self.counts[text] = self.received = int(count)
                elif what == "ready":
                    self.ready = True
                elif what == "error":
                    self.error = rest
                self.lock.notify_all()

    def wait_for(self, text: str, timeout: float = 300) -> float:
        with self.lock:
            if not self.lock.wait_for(lambda: text in self.seen, timeout):
                raise TimeoutError(f"{self.kind} never saw {text!r}" + (f" ({self.error})" if self.error else ""))
            return self.seen[text]

    def wait_ready(self, timeout: float = 60) -> None:
        with self.lock:
            if not self.lock.wait_for(lambda: self.ready or self.error, timeout) or self.error:
                raise RuntimeError(f"{self.kind} did not get ready: {self.error or 'timed out'}")

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def _report(line: str) -> None:
    print(line, flush=True)


def _kubectl(kubectl: str, kubeconfig: str, cachedir: str, namespace: str, pod: str, container: str) -> None:
    env = {**os.environ, "KUBECONFIG": kubeconfig, **({"KUBECACHEDIR": cachedir} if cachedir else {})}
    proc = subprocess.Popen([kubectl, "logs", "-f", pod, "-c", container, "-n", namespace, "--tail=0"],
                            stdout=subprocess.PIPE, env=env, bufsize=1024 * 1024)
    lines = 0
    for raw in proc.stdout:
        lines += 1
        if raw.startswith(b"mark-"):
            _report(f"seen {raw.decode().rstrip()} {time.perf_counter()} {lines}")


async def _websocket(url: str, headers: str) -> None:
    async with aiohttp.ClientSession() as session:
        await WebsocketViewer(session, url, json.loads(headers), report=_report).run()


async def _api(kubeconfig: str, namespace: str, pod: str, container: str) -> None:
    await ApiFollower(kubeconfig, namespace, pod, container, report=_report).run()


def main() -> None:
    kind, arguments = sys.argv[1], json.loads(sys.argv[2])
    if kind == "kubectl":
        _kubectl(**arguments)
    elif kind == "websocket":
        asyncio.run(_websocket(**arguments))
    else:
        asyncio.run(_api(**arguments))


if __name__ == "__main__":
    main()
