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
OPEN_AT_ONCE = 50  # connections being opened at the same time (a page load's worth of browsers each)


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


async def first_status(ws: aiohttp.ClientWebSocketResponse) -> None:
    while True:
        message = json.loads((await ws.receive(timeout=120)).data)
        if message.get("type") == "status":
            return


async def received_event(ws: aiohttp.ClientWebSocketResponse) -> bool:
    """Whether the bench's event arrives on ``ws`` (within a minute)."""
    try:
        while True:
            frame = await ws.receive(timeout=60)
            if frame.type != aiohttp.WSMsgType.TEXT:
                return False
            message = json.loads(frame.data)
            if message.get("type") == "event" and message.get("text") == EVENT_TEXT:
                return True
    except TimeoutError:
        return False


async def measure(base: str, job_id: str, pid: int, args: argparse.Namespace, emit) -> bool:
    cookies = aiohttp.CookieJar(unsafe=True)  # an IP address host: keep its cookies
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(cookie_jar=cookies, connector=connector) as session:
        await login(session, base)
        url, origin = f"{base.replace('http', 'ws', 1)}/ws/jobs/{job_id}/", {"Origin": base}
        warm = await session.ws_connect(url, headers=origin)  # the first connection's one-off imports
        await first_status(warm)
        await warm.close()
        peak_before, pss_before = memory(pid)
        sockets: list[aiohttp.ClientWebSocketResponse] = []
        start = time.perf_counter()
        for first in range(0, args.connections, OPEN_AT_ONCE):
            batch = await asyncio.gather(*(session.ws_connect(url, headers=origin, heartbeat=None)
                                           for _ in range(first, min(args.connections, first + OPEN_AT_ONCE))))
            await asyncio.gather(*(first_status(ws) for ws in batch))
            sockets += batch
        opened = time.perf_counter() - start
        await asyncio.sleep(args.idle)
        peak_after, pss_after = memory(pid)
        count = len(sockets)
        print(f"{count} job-stream websockets open on one daphne in {opened:.1f}s, idle {args.idle:.0f}s; {load()}")
        print(f"{'web process':14} {'before MiB':>11} {'after MiB':>10} {'per connection KiB':>19}")
        for label, before, after in (("peak RSS", peak_before, peak_after), ("PSS", pss_before, pss_after)):
            print(f"{label:14} {before:11.1f} {after:10.1f} {(after - before) * 1024 / count:19.1f}")
        waiting = [asyncio.ensure_future(received_event(ws)) for ws in sockets]
        start = time.perf_counter()
        await asyncio.to_thread(emit)
        results = await asyncio.gather(*waiting)
        print(f"one job event broadcast: received by {sum(results)} of {count} connections "
              f"in {time.perf_counter() - start:.2f}s")
        await asyncio.gather(*(ws.close() for ws in sockets))
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
