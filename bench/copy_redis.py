"""Benchmark: Slipway's Redis copier against a batched `MIGRATE … COPY REPLACE KEYS` loop.

Two throwaway redis-servers on loopback (see devstack/spare_redis.py); the source is filled with
--keys keys (about 100-byte values), every one with a TTL. Each side copies the whole source db into
the emptied target db: Slipway with its verification on (key counts + sampled values), the
baseline as SCAN batches handed to MIGRATE (which moves keys server to server, DUMP/RESTORE inside
Redis). Each side runs in its own process, so its peak memory (max RSS) is its own. Prints
keys/second, peak memory, CPU seconds (the side's process, and both redis-servers from INFO cpu: a
figure that a busy shared machine disturbs less than wall time) and the ratio baseline time /
Slipway time (goal ≥ 1).
Run: `make bench-copy-redis` (or `.venv/bin/python bench/copy_redis.py [--keys N] [--batch N]`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from devstack.spare_redis import spare_redis  # noqa: E402  (importable once the project root is on sys.path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--side", choices=["slipway", "migrate"], help=argparse.SUPPRESS)
    parser.add_argument("--source-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--target-port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        print(json.dumps(run_side(args.side, args.source_port, args.target_port, args.batch)))
        return

    import redis


    with spare_redis() as source, spare_redis() as target:
        src = redis.Redis(port=source["port"])
        started = time.monotonic()
        fill(src, args.keys)
        print(f"filled source with {src.dbsize():,} keys (all with TTLs) in {time.monotonic() - started:.1f}s")
        dst = redis.Redis(port=target["port"])
        results = {}
        for side in ("slipway", "migrate"):
            dst.flushall()
            before = server_cpu(src) + server_cpu(dst)
            results[side] = measure(side, source["port"], target["port"], args.batch)
            results[side]["server_cpu"] = server_cpu(src) + server_cpu(dst) - before
            copied = dst.dbsize()
            assert copied == args.keys, f"{side}: target holds {copied} keys, expected {args.keys}"
            sample = dst.randomkey()
            assert dst.pttl(sample) > 0, f"{side}: {sample!r} lost its TTL"
        for side, r in results.items():
            print(f"{side:>8}: {r['seconds']:.2f}s  {args.keys / r['seconds']:,.0f} keys/s  "
                  f"peak memory {r['max_rss_mb']:.0f} MB  CPU: client {r['client_cpu']:.1f}s + both redis-servers "
                  f"{r['server_cpu']:.1f}s" + (f"  verified={r['verified']}" if "verified" in r else ""))
        ratio = results["migrate"]["seconds"] / results["slipway"]["seconds"]
        print(f"ratio (MIGRATE loop time / Slipway time): {ratio:.2f}x  (goal >= 1x)")


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


def measure(side: str, source_port: int, target_port: int, batch: int) -> dict:
    """Run one side in a child process; its own max RSS comes back through wait4."""
    proc = subprocess.Popen([sys.executable, __file__, "--side", side, "--source-port", str(source_port),
                             "--target-port", str(target_port), "--batch", str(batch)],
                            stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{side} side failed (status {status})")
    return {**json.loads(out.strip().splitlines()[-1]), "max_rss_mb": usage.ru_maxrss / 1024,
            "client_cpu": usage.ru_utime + usage.ru_stime}


def run_side(side: str, source_port: int, target_port: int, batch: int) -> dict:
    import redis

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
