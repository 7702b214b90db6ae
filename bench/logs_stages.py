"""Where the live-logs websocket spends its time (used by bench/logs_stream.py).

- ``ApiFollower``: the request Slipway's log source makes (`GET …/pods/<pod>/log?follow=true`,
  aiohttp, the same endpoint and credentials), made directly by the bench. The time until it sees a
  line is the API server's share, as any Python HTTP client gets it; the websocket's time minus this
  is Slipway's share (reading in the web process, the outbox, the writer, daphne, the frame).
- ``connect_stages``: a fresh websocket viewer's milestones from the moment it connects: the upgrade
  answered (session, database, permission), the first frame (the pod list asked of the API server),
  "ready" (the log request answered), the first line (the `tail=1` line).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp

from bench.log_clients import Marks
from clusters.kube.client import async_endpoint


class ApiFollower(Marks):
    """Follows one container's log straight from the API server and notes when marks arrive."""

    def __init__(self, kubeconfig: str, namespace: str, pod: str, container: str,
                 report: Callable[[str], None] | None = None) -> None:
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


async def connect_stages(session: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> dict[str, float]:
    """Milliseconds from the start of a websocket connect to each milestone (see the module docstring)."""
    stages: dict[str, float] = {}
    started = time.perf_counter()

    def note(name: str) -> None:
        stages.setdefault(name, (time.perf_counter() - started) * 1000)

    async with session.ws_connect(url, headers=headers, max_msg_size=0) as ws:
        note("upgrade answered (session, database, permission)")
        async for msg in ws:
            data = json.loads(msg.data)
            note("first frame (pods listed)")
            for item in data["items"]:
                if item.get("type") == "marker" and item["kind"] == "ready":
                    note("ready (log request answered)")
                elif item.get("type") != "marker":
                    note("first line")
            await ws.send_str(json.dumps({"ack": data["seq"]}))
            if "first line" in stages and "ready (log request answered)" in stages:
                break
    return stages
