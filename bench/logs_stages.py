"""Where the live-logs websocket spends its time (used by bench/logs_stream.py).

- ``bench.log_clients.ApiFollower``: the request Slipway's log source makes, made directly by the
  bench. The time until it sees a line is the API server's share, as any Python HTTP client gets it; the
  websocket's time minus this is Slipway's share (reading in the web process, the outbox, the writer,
  daphne, the frame).
- ``connect_stages``: a fresh websocket viewer's milestones from the moment it connects: the upgrade
  answered (session, database, permission), the first frame (the pod list asked of the API server),
  "ready" (the log request answered), the first line (the `tail=1` line).
"""

from __future__ import annotations

import json
import time

import aiohttp


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
