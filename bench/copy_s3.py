"""Benchmark: Slipway's S3 copier against `aws s3 sync` (awscli, pinned in requirements-dev.txt).

On the stack's moto server, a source bucket is filled with --objects objects (1–8 KB, with a content
type and user metadata). Each side copies the whole bucket into its own fresh, empty bucket: Slipway
with verification on (key set, sizes, ETags, sampled headers), the baseline as
`aws s3 sync s3://source s3://target` (server-side copies, its default 10 concurrent requests). Each
side runs in its own process, so its peak memory (max RSS) is its own. Prints objects/second, peak
memory, the side's CPU seconds and the ratio baseline time / Slipway time (goal ≥ 2; with --rounds N
the sides alternate which goes first and the best time of each counts). Every bucket is deleted at
the end.
The server's own limit is measured too: keys listed before the clock, then plain boto3 `copy_object`
calls from 4, 8 and 16 threads (no verification, no comparison), the best rate counting as the most
copies per second any client reaches on this server; Slipway's copy rate (its copy call alone, inside
its process, with verification) is printed as a fraction of it (goal >= 0.9). `--tiny` is the smoke mode.
Run: `make bench-copy-s3` (or `.venv/bin/python bench/copy_s3.py [--objects N] [--workers N]`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from devstack.daemons import Moto  # noqa: E402  (importable once the project root is on sys.path)
from devstack.process import Context  # noqa: E402  (importable once the project root is on sys.path)

SIDES = ("awscli", "limit", "slipway")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=0, help="0: the copier's default")
    parser.add_argument("--rounds", type=int, default=1, help="rounds, alternating which side goes first")
    parser.add_argument("--tiny", action="store_true", help="smoke mode: 100 objects, one round, 4 threads")
    parser.add_argument("--side", choices=["slipway", "limit"], help=argparse.SUPPRESS)
    parser.add_argument("--threads", default="4,8,16", help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tiny:
        args.objects, args.rounds, args.threads = 100, 1, "4"
    setup_django()
    if args.side == "limit":
        print(json.dumps(copy_limit(args.source, args.target, [int(n) for n in args.threads.split(",")])))
        return
    if args.side:
        print(json.dumps(run_slipway(args.source, args.target, args.workers)))
        return

    from migrations_tool.contracts import Endpoint
    from migrations_tool.s3_copy import S3Copier
    from portal import aws

    s3 = aws.client("s3", config=aws.config(max_pool_connections=16))
    run = uuid.uuid4().hex[:8]
    source = f"bench-{run}-source"
    buckets = [source]
    s3.create_bucket(Bucket=source)
    commands = {
        "awscli": lambda bucket: [awscli(), "s3", "sync", f"s3://{source}", f"s3://{bucket}", "--quiet",
                                  "--endpoint-url", aws.endpoint_for("s3")],
        "slipway": lambda bucket: [sys.executable, __file__, "--side", "slipway", "--source", source,
                                   "--target", bucket, "--workers", str(args.workers)],
        "limit": lambda bucket: [sys.executable, __file__, "--side", "limit", "--source", source, "--target", bucket,
                                 "--threads", args.threads]}
    try:
        started = time.monotonic()
        fill(s3, source, args.objects)
        print(f"filled {source} with {args.objects:,} objects in {time.monotonic() - started:.1f}s")
        results: dict[str, list[dict]] = {}
        for round_ in range(args.rounds):
            for side in (SIDES if round_ % 2 == 0 else tuple(reversed(SIDES))):
                bucket = f"bench-{run}-{side}-{round_}"
                buckets.append(bucket)
                s3.create_bucket(Bucket=bucket)
                r = measure(commands[side](bucket))
                count = sum(p.get("KeyCount", 0) for p in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket))
                assert count == args.objects, f"{side}: {count} objects copied, expected {args.objects}"
                print(f"{side:>8}: {r['seconds']:.2f}s  {args.objects / r['seconds']:,.0f} objects/s  "
                      f"peak memory {r['max_rss_mb']:.0f} MB  client CPU {r['client_cpu']:.1f}s"
                      + (f"  verified={r['verified']}" if "verified" in r else "")
                      + (f"  copy call {r['copy_seconds']:.2f}s" if "copy_seconds" in r else "")
                      + (f"  rates by threads {r['rates']}" if "rates" in r else ""), flush=True)
                results.setdefault(side, []).append(r)
        median = {side: statistics.median(r["seconds"] for r in rs) for side, rs in results.items()}
        print(f"ratio (aws s3 sync time / Slipway time, median of {args.rounds}): "
              f"{median['awscli'] / median['slipway']:.2f}x  (goal >= 2x)")
        limit = statistics.median(r["best_rate"] for r in results["limit"])
        ours = statistics.median(args.objects / r["copy_seconds"] for r in results["slipway"])
        print(f"server limit (plain copy_object, best thread count): {limit:,.0f} copies/s; Slipway's copy "
              f"{ours:,.0f} objects/s with verification = {ours / limit:.2f} of the limit (goal >= 0.9)")
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (moto shares them)")
    finally:
        for bucket in buckets:
            S3Copier().deprovision(Endpoint(kind="s3", database=bucket), Endpoint(kind="s3"), None)


def setup_django() -> None:

    facts = Moto().up(Context.default())
    os.environ.update(facts)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()


def awscli() -> str:
    found = shutil.which("aws", path=str(Path(sys.executable).parent))
    if not found:
        raise SystemExit("awscli is not installed in this virtualenv: pip install -r requirements-dev.txt")
    return found


def fill(s3, bucket: str, count: int) -> None:
    def put(i: int) -> None:
        s3.put_object(Bucket=bucket, Key=f"data/{i % 100:02d}/object-{i:06d}.json", Body=os.urandom(1024 + i % 7168),
                      ContentType="application/json", Metadata={"index": str(i)})

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(count)))


def measure(command: list[str]) -> dict:
    """Run one side in a child process; its own max RSS comes back through wait4."""
    started = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - started
    if status != 0:
        raise SystemExit(f"{command[:3]} failed (status {status})")
    lines = out.strip().splitlines()
    extra = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    return {"seconds": seconds, **extra, "max_rss_mb": usage.ru_maxrss / 1024,
            "client_cpu": usage.ru_utime + usage.ru_stime}


def run_slipway(source: str, target: str, workers: int) -> dict:
    from migrations_tool.contracts import Endpoint
    from migrations_tool.s3_copy import S3Copier

    started = time.monotonic()
    report = S3Copier().copy(Endpoint(kind="s3", database=source), Endpoint(kind="s3", database=target),
                             {"workers": workers} if workers else {}, lambda **_: None)
    return {"verified": report.verified, "copy_seconds": time.monotonic() - started}


def copy_limit(source: str, target: str, thread_counts: list[int]) -> dict:
    """Copies per second of plain `copy_object` calls from each thread count (keys listed first, untimed)."""
    from portal import aws

    s3 = aws.client("s3", config=aws.config(max_pool_connections=max(thread_counts)))
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=source)
            for o in page.get("Contents", [])]

    def copy(key: str) -> None:
        s3.copy_object(Bucket=target, Key=key, CopySource={"Bucket": source, "Key": key})

    rates = {}
    for threads in thread_counts:
        with ThreadPoolExecutor(threads) as pool:
            started = time.monotonic()
            list(pool.map(copy, keys))
            rates[threads] = round(len(keys) / (time.monotonic() - started))
    return {"rates": rates, "best_rate": max(rates.values())}


if __name__ == "__main__":
    main()
