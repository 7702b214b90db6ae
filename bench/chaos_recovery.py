"""Benchmark: chaos experiments through the path a user takes, measured by Slipway and independently.

Every action goes through the HTTP API of a real web process (daphne), Redis, a Celery worker (and
Celery beat for schedules) to the stack's local Kubernetes control plane (kwok nodes):
1. recovery, Slipway vs kubectl: --recovery-runs pod-kill runs of one pod of a 2-replica component,
   each while `kubectl get pods -w --output-watch-events` runs as a separate process with every event
   stamped on receipt; kubectl's recovery (the killed pod seen terminating/deleted → as many pods
   Ready as before) beside the run's recovery_seconds, the difference per run and its median
   (goal: within 0.5 s);
2. kill-switch latency: --kill-switch-trials long runs of a network cut and of the Redis backing
   service scaled to zero (two trials each in turn), each stopped by POSTing the kill switch (per
   environment and global, alternately); the time from the POST to the fault undone as an
   independent `kubectl get networkpolicies|statefulsets -w` sees it (the NetworkPolicy's DELETED
   event, the StatefulSet's replicas back to 1); p50/p95 (goal p95 < 2 s);
3. --envs environments under interval schedules (every --interval s) for --schedule-seconds: runs
   recovered/unrecovered/skipped/failed (goal: 0 failed) and the worker's CPU seconds and peak RSS.
A fresh database on the stack's PostgreSQL (dropped at the end), Redis database --redis-db of the
stack's Redis (emptied at the end), the environments' namespaces deleted at the end, even on failure.
Run: `make bench-chaos` (or `.venv/bin/python bench/chaos_recovery.py [--tiny] [--envs N] ...`).
"""

from __future__ import annotations

import argparse
import signal
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.bench_stack import bench_slipway  # noqa: E402  (importable once the project root is on sys.path)
from bench.chaos_scenarios import ChaosBench  # noqa: E402  (importable once the project root is on sys.path)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recovery-runs", type=int, default=7, help="pod-kill runs compared with kubectl")
    parser.add_argument("--kill-switch-trials", type=int, default=10)
    parser.add_argument("--envs", type=int, default=10, help="environments under schedules at once")
    parser.add_argument("--interval", type=int, default=15, help="seconds between scheduled runs")
    parser.add_argument("--schedule-seconds", type=int, default=120, help="how long the schedules run")
    parser.add_argument("--concurrency", type=int, default=4, help="the Celery worker's threads (its pool)")
    parser.add_argument("--redis-db", type=int, default=12, help="the Redis database this run owns (emptied)")
    parser.add_argument("--tiny", action="store_true",
                        help="a smoke run: 1 recovery run, 4 kill-switch trials (each fault and switch), "
                             "2 environments for 40 s")
    args = parser.parse_args(argv)
    if args.tiny:
        args.recovery_runs, args.kill_switch_trials, args.envs, args.schedule_seconds = 1, 4, 2, 40
    args.envs = max(args.envs, 2)  # scenarios 1 and 2 each use one of them
    return args


def main(argv: list[str] | None = None) -> int:
    sys.stdout.reconfigure(line_buffering=True)
    # Killed (timeout, Ctrl-C): still run the clean-up below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    args = arguments(argv)
    with bench_slipway("bench_chaos", redis_db=args.redis_db, concurrency=args.concurrency) as started:
        bench = ChaosBench(args, started.kube, started.processes, run_id=uuid.uuid4().hex[:5])
        started.cleanups.append(bench.cleanup)
        return bench.run()


if __name__ == "__main__":
    raise SystemExit(main())
