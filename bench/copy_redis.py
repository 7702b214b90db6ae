"""Benchmark: Slipway's Redis copier against parallel pipelined DUMP/RESTORE and a `MIGRATE` loop.

Two throwaway redis-servers on loopback (see devstack/spare_redis.py); the source is filled with
--keys keys (about 100-byte values), every one with a TTL. Each side copies the whole source db into
the emptied target db: Slipway with its verification on (key counts + sampled values); the baseline
a user who wants speed would write, SCAN batches handed to --connections processes that each pipeline
DUMP + PTTL on their own source connection and RESTORE … REPLACE on their own target connection
(no verification); and a batched `MIGRATE … COPY REPLACE KEYS` loop (DUMP/RESTORE inside Redis).
Each side runs in its own process, so its peak memory (max RSS) is its own; --rounds alternate which
side goes first and the medians count. Prints keys/second, peak memory, CPU seconds (the side's
process, and both redis-servers from INFO cpu: a figure that a busy shared machine disturbs less than
wall time) and the ratios baseline time / Slipway time (goal >= 1). `--tiny` is the smoke mode.
Run: `make bench-copy-redis` (or `.venv/bin/python bench/copy_redis.py [--keys N] [--batch N]`).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from devstack.spare_redis import spare_redis  # noqa: E402  (importable once the project root is on sys.path)

SIDES = ("slipway", "pipelined", "migrate")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=4, help="the pipelined baseline's connections")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, alternating which side goes first")
    parser.add_argument("--tiny", action="store_true", help="smoke mode: 20,000 keys, one round")
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--source-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--target-port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tiny:
        args.keys, args.rounds = 20_000, 1
    if args.side:
        print(json.dumps(run_side(args.side, args.source_port, args.target_port, args.batch, args.connections)))
        return

    with spare_redis() as source, spare_redis() as target:
        src = redis.Redis(port=source["port"])
        started = time.monotonic()
        fill(src, args.keys)
        print(f"filled source with {src.dbsize():,} keys (all with TTLs) in {time.monotonic() - started:.1f}s")
        dst = redis.Redis(port=target["port"])
        runs: dict[str, list[dict]] = {side: [] for side in SIDES}
        for round_ in range(args.rounds):
            for side in SIDES if round_ % 2 == 0 else tuple(reversed(SIDES)):
                dst.flushall()
                before = server_cpu(src) + server_cpu(dst)
                r = measure(side, source["port"], target["port"], args.batch, args.connections)
                r["server_cpu"] = server_cpu(src) + server_cpu(dst) - before
                copied = dst.dbsize()
                assert copied == args.keys, f"{side}: target holds {copied} keys, expected {args.keys}"
                sample = dst.randomkey()
                assert dst.pttl(sample) > 0, f"{side}: {sample!r} lost its TTL"
                runs[side].append(r)
                print(f"  round {round_ + 1}: {side}: {r['seconds']:.2f}s", flush=True)
        median = {side: statistics.median(r["seconds"] for r in rs) for side, rs in runs.items()}
        print(f"medians of {args.rounds} round(s), {args.keys:,} keys:")
        for side, rs in runs.items():
            r = min(rs, key=lambda r: r["seconds"])  # memory and CPU of the fastest round
            print(f"{side:>9}: {median[side]:.2f}s  {args.keys / median[side]:,.0f} keys/s  "
                  f"peak memory {r['max_rss_mb']:.0f} MB  CPU: client {r['client_cpu']:.1f}s + both redis-servers "
                  f"{r['server_cpu']:.1f}s" + (f"  verified={r['verified']}" if "verified" in r else ""))
        print(f"ratio (pipelined DUMP/RESTORE x{args.connections} time / Slipway time): "
              f"{median['pipelined'] / median['slipway']:.2f}x  (goal >= 1x)")
        print(f"ratio (MIGRATE loop time / Slipway time): {median['migrate'] / median['slipway']:.2f}x  (goal >= 1x)")
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")

def fill(client, count: int) -> None:
    pipe = client.pipeline(transaction=False)
    value = os.urandom(50).hex()  # 100 bytes
    for i in range(count):
        pipe.set(f"bench:{i:08d}", value, ex=3600 + i % 3600)
        if i % 10_000 == 9_999:
            pipe.execute()
    pipe.execute()


def server_cpu(client) -> float:
    info = client.info("cpu")
    return info["used_cpu_user"] + info["used_cpu_sys"]


def measure(side: str, source_port: int, target_port: int, batch: int, connections: int) -> dict:
    """Run one side in a child process; its own max RSS comes back through wait4."""
    proc = subprocess.Popen([sys.executable, __file__, "--side", side, "--source-port", str(source_port),
                             "--target-port", str(target_port), "--batch", str(batch),
                             "--connections", str(connections)],
                            stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{side} side failed (status {status})")
    return {**json.loads(out.strip().splitlines()[-1]), "max_rss_mb": usage.ru_maxrss / 1024,
            "client_cpu": usage.ru_utime + usage.ru_stime}


def _pipelined_worker(work, source_port: int, target_port: int) -> None:
    src, dst = redis.Redis(port=source_port), redis.Redis(port=target_port)
    while (keys := work.get()) is not None:
        pipe = src.pipeline(transaction=False)
        for key in keys:
            pipe.dump(key)
            pipe.pttl(key)
        replies = pipe.execute()
        pipe = dst.pipeline(transaction=False)
        for key, value, ttl in zip(keys, replies[::2], replies[1::2], strict=True):
            if value is not None:  # expired or deleted since the SCAN
                pipe.restore(key, max(ttl, 0), value, replace=True)
        pipe.execute()


def pipelined(source_port: int, target_port: int, batch: int, connections: int) -> None:
    """SCAN batches shared out to worker processes (not threads: one interpreter's lock held four threads
    to 26,000 keys/s), each with its own pair of connections: one pipelined round trip of DUMP + PTTL
    per batch on the source, one of RESTORE … REPLACE on the target."""
    context = multiprocessing.get_context("fork")
    work = context.Queue(maxsize=connections * 4)
    workers = [context.Process(target=_pipelined_worker, args=(work, source_port, target_port))
               for _ in range(connections)]
    for worker in workers:
        worker.start()
    src, cursor = redis.Redis(port=source_port), 0
    while True:
        cursor, keys = src.scan(cursor, count=batch)
        if keys:
            work.put(keys)
        if cursor == 0:
            break
    for _ in workers:
        work.put(None)
    for worker in workers:
        worker.join()
    failed = [w.exitcode for w in workers if w.exitcode]
    if failed:
        raise SystemExit(f"pipelined: {len(failed)} worker process(es) failed")


def run_side(side: str, source_port: int, target_port: int, batch: int, connections: int) -> dict:
    if side == "pipelined":
        started = time.monotonic()
        pipelined(source_port, target_port, batch, connections)
        return {"seconds": time.monotonic() - started}
    if side == "migrate":
        src = redis.Redis(port=source_port)
        started = time.monotonic()
        cursor = 0
        while True:
            cursor, keys = src.scan(cursor, count=batch)
            if keys:
                src.execute_command("MIGRATE", "127.0.0.1", target_port, "", 0, 60_000, "COPY", "REPLACE",
                                    "KEYS", *keys)
            if cursor == 0:
                break
        return {"seconds": time.monotonic() - started}

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from migrations_tool.contracts import Endpoint
    from migrations_tool.redis_copy import RedisCopier

    started = time.monotonic()
    report = RedisCopier().copy(Endpoint(kind="redis", host="127.0.0.1", port=source_port),
                                Endpoint(kind="redis", host="127.0.0.1", port=target_port),
                                {"batch_size": batch}, lambda **_: None)
    return {"seconds": time.monotonic() - started, "verified": report.verified}


if __name__ == "__main__":
    main()
