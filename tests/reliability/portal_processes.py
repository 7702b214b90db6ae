"""Slipway as separate OS processes over the test database and one Redis database: daphne web processes,
Celery workers and beats, each logging to a file of its own (read to tell which worker took a task, and
shown when a process dies), and a websocket client that records what a browser would receive.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.reliability.worker import ROOT, portal_environment, wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL, as the kernel's OOM killer or a node failure would: nothing runs its shutdown."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)


@dataclass
class PortalProcesses:
    """Processes sharing the environment of ``portal_environment(redis_url, var_dir, **env)``."""

    redis_url: str
    var_dir: Path
    env: dict[str, str]
    started: dict[str, Process] = field(default_factory=dict)

    def _start(self, name: str, command: list[str], **env: str) -> Process:
        log = self.var_dir / f"{name}.log"
        with open(log, "w") as out:  # the child keeps its own copy of the descriptor
            popen = subprocess.Popen(command, cwd=ROOT, env=portal_environment(self.redis_url, self.var_dir,
                                                                               **self.env, **env),
                                     stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.started[name] = Process(name, popen, log)
        return self.started[name]

    def web(self, name: str, **env: str) -> str:
        """A daphne process; returns its base URL once it listens."""
        port = free_port()
        self._start(name, [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                           "portal.asgi:application"], **env)
        return f"http://127.0.0.1:{port}"

    def worker(self, name: str) -> Process:
        # solo: the task runs in the process the test kills (prefork would leave a pool child behind).
        return self._start(name, [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool", "solo", "-l",
                                  "info", "--without-gossip", "--without-mingle", "-n", f"{name}@%h"])

    def beat(self, name: str, app: str) -> Process:
        return self._start(name, [sys.executable, "-m", "celery", "-A", app, "beat", "-l", "info",
                                  "--schedule", str(self.var_dir / f"{name}-schedule")])

    def check_alive(self, *names: str) -> None:
        for name in names or list(self.started):
            process = self.started[name]
            if process.popen.poll() is not None:
                pytest.fail(f"{name} exited with {process.popen.returncode}:\n{process.output()[-3000:]}")

    def wait_listening(self, url: str, name: str) -> None:
        port = int(url.rsplit(":", 1)[1])

        def listening() -> bool:
            self.check_alive(name)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return True
            except OSError:
                return False

        wait_for(listening, 90, f"{name} to listen")

    def wait_logged(self, name: str, text: str, timeout: float = 90) -> None:
        def logged() -> bool:
            self.check_alive(name)
            return text in self.started[name].output()

        wait_for(logged, timeout, f"{name} to log {text!r}")

    def stop(self) -> None:
        for process in self.started.values():
            if process.popen.poll() is None:
                os.killpg(process.popen.pid, signal.SIGTERM)
        for process in self.started.values():
            try:
                process.popen.wait(timeout=10)  # a worker's warm shutdown waits for its task
            except subprocess.TimeoutExpired:
                process.kill()


class Browser:
    """A websocket client (aiohttp) on its own thread, signed in with a session cookie, recording every JSON
    message; log-stream batches are acknowledged as the page does (``{"ack": seq}``)."""

    def __init__(self, base: str, path: str, session_cookie: tuple[str, str]) -> None:
        self.url = base.replace("http://", "ws://") + path
        self.headers = {"Origin": base, "Cookie": f"{session_cookie[0]}={session_cookie[1]}"}
        self.messages: list[dict[str, Any]] = []
        self.closed: str | None = None
        self.opened = threading.Event()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._read(),), daemon=True)
        self._thread.start()

    async def _read(self) -> None:
        try:
            async with aiohttp.ClientSession() as session, session.ws_connect(self.url, headers=self.headers) as ws:
                self.opened.set()
                self._ws = ws
                async for frame in ws:
                    if frame.type != aiohttp.WSMsgType.TEXT:
                        break
                    message = json.loads(frame.data)
                    if message.get("type") == "batch":
                        await ws.send_json({"ack": message["seq"]})
                    with self._lock:
                        self.messages.append(message)
                self.closed = f"closed with code {ws.close_code}"
        except (aiohttp.ClientError, OSError) as exc:
            self.closed = f"{type(exc).__name__}: {exc}"
        finally:
            self.opened.set()

    def received(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.messages)

    def wait(self, predicate: Callable[[dict[str, Any]], bool], timeout: float, what: str) -> dict[str, Any]:
        """The first message received so far (or within ``timeout``) that satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        while True:
            match = next((m for m in self.received() if predicate(m)), None)
            if match is not None:
                return match
            if self.closed or time.monotonic() > deadline:
                pytest.fail(f"no {what} ({self.closed or 'timed out'}); last received: {self.received()[-8:]}")
            time.sleep(0.1)

    def close(self) -> None:
        if getattr(self, "_ws", None) is not None and not self.closed:
            asyncio.run_coroutine_threadsafe(self._ws.close(), self._loop).result(timeout=10)
        self._thread.join(timeout=10)
