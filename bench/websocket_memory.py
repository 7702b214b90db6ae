"""Benchmark: memory of one web process (daphne) holding --connections idle job-stream websockets.

Logs in as a user does (the session cookie of POST /login/), then opens --connections websockets to
/ws/jobs/<id>/ of one job on ONE daphne, waits until each has its first status message, leaves them idle
--idle seconds, and prints the process's resident memory (peak RSS, the kernel's VmHWM, and PSS) before
and after, and the memory per connection. At the end one job event is written and broadcast (the
worker's JobReporter, over the Redis channel layer), and every connection must receive it.

A fresh database on the stack's PostgreSQL and Redis database --redis-db (dropped/emptied at the end).
Run: `make bench-websockets` (or `.venv/bin/python bench/websocket_memory.py [--smoke] [--connections N]`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.bench_seed import seed_bench_world  # noqa: E402  (importable once the project root is on sys.path)
from bench.bench_stack import TreeMetrics, bench_slipway  # noqa: E402  (importable once the project root is on sys.path)
from bench.environment_create import load  # noqa: E402  (importable once the project root is on sys.path)
from bench.load_pages import login  # noqa: E402  (importable once the project root is on sys.path)

EVENT_TEXT = "websocket-bench: the event every connection must receive"
OPEN_AT_ONCE = 10  # opened at the same time: daphne drops a websocket whose handshake takes over 5 s


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=500, help="idle job-stream websockets")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds the connections stay idle")
    parser.add_argument("--redis-db", type=int, default=7, help="the Redis database this run owns (emptied)")
    parser.add_argument("--smoke", action="store_true", help="a smoke run: 20 connections, 1 s idle")
    args = parser.parse_args(argv)
    if args.smoke:
        args.connections, args.idle = 20, 1.0
    return args


def memory(pid: int) -> tuple[float, float]:
    """(peak RSS MiB, PSS MiB now) of the web process."""
    metrics = TreeMetrics(pid)
    metrics.sample()
    return metrics.peak_total_mib, metrics.pss_now_mib()


class Listener:
    """Reads one websocket all along, as a browser does (aiohttp answers the server's pings only while
    someone reads): notes the first status message and whether the bench's event arrived."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws, self.opened, self.got_event = ws, asyncio.Event(), asyncio.Event()
        self.task = asyncio.ensure_future(self.read())

    async def read(self) -> None:
        async for frame in self.ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                break
            message = json.loads(frame.data)
            if message.get("type") == "status":
                self.opened.set()
            elif message.get("type") == "event" and message.get("text") == EVENT_TEXT:
                self.got_event.set()

    async def wait(self, event: asyncio.Event, timeout: float) -> bool:
        try:
            await asyncio.wait_for(event.wait(), timeout)
            return True
        except TimeoutError:
            return False


async def measure(base: str, job_id: str, pid: int, args: argparse.Namespace, emit) -> bool:
    cookies = aiohttp.CookieJar(unsafe=True)  # an IP address host: keep its cookies
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(cookie_jar=cookies, connector=connector) as session:
        await login(session, base)
        url, origin = f"{base.replace('http', 'ws', 1)}/ws/jobs/{job_id}/", {"Origin": base}
        warm = Listener(await session.ws_connect(url, headers=origin))  # the first one's one-off imports
        await warm.wait(warm.opened, 120)
        await warm.ws.close()
        peak_before, pss_before = memory(pid)
        listeners: list[Listener] = []
        start = time.perf_counter()
        for first in range(0, args.connections, OPEN_AT_ONCE):
            size = min(OPEN_AT_ONCE, args.connections - first)
            batch = [Listener(ws) for ws in await asyncio.gather(*(session.ws_connect(url, headers=origin)
                                                                   for _ in range(size)))]
            if not all(await asyncio.gather(*(one.wait(one.opened, 120) for one in batch))):
                raise RuntimeError("a job-stream websocket sent no status within 2 minutes of opening")
            listeners += batch
        opened = time.perf_counter() - start
        await asyncio.sleep(args.idle)
        peak_after, pss_after = memory(pid)
        count = len(listeners)
        print(f"{count} job-stream websockets open on one daphne in {opened:.1f}s, idle {args.idle:.0f}s; {load()}")
        print(f"{'web process':14} {'before MiB':>11} {'after MiB':>10} {'per connection KiB':>19}")
        for label, before, after in (("peak RSS", peak_before, peak_after), ("PSS", pss_before, pss_after)):
            print(f"{label:14} {before:11.1f} {after:10.1f} {(after - before) * 1024 / count:19.1f}")
        start = time.perf_counter()
        await asyncio.to_thread(emit)
        results = await asyncio.gather(*(one.wait(one.got_event, 60) for one in listeners))
        print(f"one job event broadcast: received by {sum(results)} of {count} connections "
              f"in {time.perf_counter() - start:.2f}s")
        await asyncio.gather(*(one.ws.close() for one in listeners))
        return all(results)


def main(argv: list[str] | None = None) -> None:
    args = arguments(argv)
    with bench_slipway("wsbench", redis_db=args.redis_db, concurrency=1) as started:
        world = seed_bench_world(started.kube, components=1, prefix="ws")
        from portal.jobs.models import Job
        from portal.jobs.reporting import JobReporter

        job = Job.objects.create(kind="bench", title="websocket bench", team=world.team, started_by=world.user)

        def emit() -> None:
            reporter = JobReporter(job)
            reporter.log(EVENT_TEXT)
            reporter.flush()

        base = started.processes.start_web()
        ok = asyncio.run(measure(base, str(job.pk), started.processes.started["web"].pid, args, emit))
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
