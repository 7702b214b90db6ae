"""Benchmark: creating environments through Slipway against plain `kubectl apply`, on the same cluster.

Three ways to the same ready environment of --components components:
- Slipway, the real path: POST /api/v1/environments/ with an API token to a running daphne → Redis → a
  Celery worker (--pool threads of --concurrency 8 by default, as the chart's) → Kubernetes, then GET the
  environment until it is ready;
- Slipway in-process (the engine alone): the same POST through Django's test client with Celery eager, so
  the rollout runs inside the request (validation, persistence, audit, render, apply, prune, readiness);
- the baseline: `kubectl apply --server-side` of the same rendered manifests (for another environment
  name), then `kubectl rollout status` of its Deployments (and StatefulSets, if any).
Scenario 1 runs each --repeat times, rotating which goes first, and prints the medians and the ratios to
kubectl. Scenario 2 creates --envs environments at once each way (one thread each) and compares the total
wall times, and checks every one became ready without error. The machine's load is printed.

A fresh database on the stack's PostgreSQL and Redis database --redis-db (both dropped/emptied at the
end), the stack's control plane (kwok nodes), where every namespace the run created is deleted at the
end, even on failure. Run: `make bench-environments` (or `.venv/bin/python bench/environment_create.py
[--smoke] [--envs N] [--repeat N] [--workers N] [--concurrency N]`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.bench_seed import seed_bench_world  # noqa: E402  (importable once the project root is on sys.path)
from bench.bench_stack import Api, ApiError, Processes, bench_slipway  # noqa: E402  (importable once the project root is on sys.path)
from devstack.control_plane import api_client  # noqa: E402  (importable once the project root is on sys.path)

READY_TIMEOUT = 180.0
SIDES = ("slipway", "in-process", "kubectl")


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--components", type=int, default=10, help="components per environment")
    parser.add_argument("--envs", type=int, default=20, help="environments created at once in scenario 2")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each side in scenario 1")
    parser.add_argument("--pool", default="threads", choices=("threads", "prefork"), help="the Celery worker's pool")
    parser.add_argument("--concurrency", type=int, default=8, help="each Celery worker's threads (or processes)")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (the issue: twenty with 2)")
    parser.add_argument("--redis-db", type=int, default=10, help="the Redis database this run owns (emptied)")
    parser.add_argument("--smoke", action="store_true", help="a smoke run: 2 components, 1 run, 2 at once")
    args = parser.parse_args(argv)
    if args.smoke:
        args.components, args.repeat, args.envs, args.workers = 2, 1, 2, 1
    return args


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def main(argv: list[str] | None = None) -> None:
    args = arguments(argv)
    os.environ.update(SLIPWAY_ROLLOUT_TIMEOUT_SECONDS=str(READY_TIMEOUT))
    with bench_slipway("envbench", redis_db=args.redis_db, concurrency=args.concurrency, pool=args.pool) as started:
        bench = Bench(args, started.kube, started.processes)
        started.cleanups.append(bench.cleanup)
        failed = bench.run()
    if failed:
        raise SystemExit(1)


def job_times(environment_ids: list[str]) -> str:
    """Where the real path's time went, from the environments' Job rows: the median and the longest wait
    in the queue (created → started by a worker) and run (started → finished: apply and readiness)."""
    from portal.jobs.models import Job

    rows = Job.objects.filter(target_type="environments.environment", target_id__in=environment_ids).exclude(
        started_at=None).exclude(finished_at=None).values_list("created_at", "started_at", "finished_at")
    if not rows:
        return "jobs: none finished"
    waits = [(started - created).total_seconds() for created, started, _ in rows]
    runs = [(finished - started).total_seconds() for _, started, finished in rows]
    return (f"{'':36} real path's {len(rows)} jobs: queue wait median {statistics.median(waits):.2f} s, "
            f"longest {max(waits):.2f} s; run (apply + readiness) median {statistics.median(runs):.2f} s, "
            f"longest {max(runs):.2f} s")


class Bench:
    def __init__(self, args: argparse.Namespace, kube: dict[str, str], processes: Processes) -> None:
        self.args, self.processes = args, processes
        self.kubectl = kube["KUBECTL"]
        self.kube_env = {**os.environ, "KUBECONFIG": kube["KUBECONFIG"],
                         **({"KUBECACHEDIR": kube["KUBECACHEDIR"]} if kube.get("KUBECACHEDIR") else {})}
        self.kube = kube
        self.run_id = os.urandom(3).hex()
        self.namespaces: list[str] = []  # every namespace this run may have created
        self.tmp = tempfile.TemporaryDirectory(prefix="slipway-bench-")
        self.counter = 0
        self.apply_seconds: list[float] = []  # how long `kubectl apply` alone took, per baseline run
        self.created: list[str] = []  # ids of the environments the real path created, in order

    def new_name(self, side: str) -> str:
        self.counter += 1
        return f"bench-{self.run_id}-{side[0]}{self.counter}"

    def setup(self) -> None:
        self.world = seed_bench_world(self.kube, components=self.args.components, prefix="svc")
        for logger in ("celery", "kombu"):  # per-task INFO lines of the eager side would break up the table
            logging.getLogger(logger).setLevel(logging.ERROR)
        for _ in range(self.args.workers):
            self.processes.start_worker()
        self.base = self.processes.start_web()

    def body(self, name: str) -> dict:
        self.namespaces.append(f"slw-{name}")
        return {"name": name, "cluster": self.world.cluster.name, "blueprint": self.world.blueprint.pk,
                "stage": "qa", "team": self.world.team.slug, "versions": self.world.versions}

    # -- Slipway, the real path: HTTP → daphne → Redis → worker ----------------------------------

    def slipway_create(self, name: str) -> tuple[float, str]:
        """POST the environment over HTTP, then GET it until it is ready: (seconds, error or "")."""
        api = Api(self.base, self.world.token)
        body = self.body(name)
        start = time.perf_counter()
        try:
            pk = api.post("/api/v1/environments/", body)["id"]
            self.created.append(str(pk))
            deadline = time.monotonic() + READY_TIMEOUT
            while True:
                environment = api.get(f"/api/v1/environments/{pk}/")
                if environment["status"] == "ready":
                    return time.perf_counter() - start, ""
                if environment["status"] == "failed" or time.monotonic() > deadline:
                    return time.perf_counter() - start, f"{environment['status']}: {environment.get('status_message')}"
                time.sleep(0.05)
        except (ApiError, OSError) as exc:  # reported in the table, never hidden
            return time.perf_counter() - start, f"{type(exc).__name__}: {exc}"

    # -- Slipway in-process: the engine inside the request (Celery eager) -------------------------

    @contextmanager
    def eager(self):
        from portal.celery import app

        app.conf.task_always_eager = True
        try:
            yield
        finally:
            app.conf.task_always_eager = False

    def in_process_create(self, name: str) -> tuple[float, str]:
        from django.db import connections
        from django.test import Client

        from environments.models import Environment

        client = Client(HTTP_ACCEPT="application/json")
        client.force_login(self.world.user)
        body = json.dumps(self.body(name))
        start = time.perf_counter()
        try:
            response = client.post("/api/v1/environments/", body, content_type="application/json")
            if response.status_code != 201:
                return time.perf_counter() - start, f"HTTP {response.status_code}: {response.content[:300]!r}"
            status, message = Environment.objects.values_list("status", "status_message").get(
                pk=response.json()["id"])
            return time.perf_counter() - start, "" if status == Environment.READY else f"{status}: {message}"
        except Exception as exc:  # reported in the table, never hidden
            return time.perf_counter() - start, f"{type(exc).__name__}: {exc}"
        finally:
            if threading.current_thread() is not threading.main_thread():
                connections.close_all()  # this thread's connections

    # -- kubectl baseline ------------------------------------------------------------------------

    def manifest_file(self, name: str) -> tuple[Path, bool]:
        """The manifests Slipway renders for environment ``name``, as a YAML file (not timed)."""
        from django.db import transaction

        from environments.catalog.versions import resolve
        from environments.models import Environment, EnvironmentRevision
        from environments.render import render, to_yaml
        from environments.services import NAMESPACE_PREFIX
        from environments.snapshot import new_backing_passwords, snapshot_from_blueprint, spec_for

        world = self.world
        with transaction.atomic():  # spec_for reads the environment's related rows: saved, then rolled back
            environment = Environment.objects.create(
                name=name, namespace=NAMESPACE_PREFIX + name, cluster=world.cluster, blueprint=world.blueprint,
                stage="qa", team=world.team, owner=world.user,
                backing_passwords=new_backing_passwords(world.blueprint))
            revision = EnvironmentRevision.objects.create(environment=environment, number=1, snapshot=(
                snapshot_from_blueprint(blueprint=world.blueprint, stage="qa",
                                        versions=resolve(world.blueprint, world.versions))))
            manifests = render(spec_for(environment, revision))
            transaction.set_rollback(True)
        path = Path(self.tmp.name) / f"{name}.yaml"
        path.write_text(to_yaml(manifests))
        return path, any(m["kind"] == "StatefulSet" for m in manifests)

    def kubectl_create(self, name: str, path: Path, statefulsets: bool) -> tuple[float, str]:
        namespace = f"slw-{name}"
        self.namespaces.append(namespace)
        commands = [["apply", "--server-side", "--field-manager", "bench", "-f", str(path)],
                    ["rollout", "status", "deployment", "-n", namespace, f"--timeout={READY_TIMEOUT:.0f}s"]]
        if statefulsets:
            commands.append(["rollout", "status", "statefulset", "-n", namespace, f"--timeout={READY_TIMEOUT:.0f}s"])
        start = time.perf_counter()
        for command in commands:
            proc = subprocess.run([self.kubectl, *command], env=self.kube_env, capture_output=True, text=True)
            if proc.returncode != 0:
                return time.perf_counter() - start, f"kubectl {command[0]}: {proc.stderr.strip()[:300]}"
            if command[0] == "apply":
                self.apply_seconds.append(time.perf_counter() - start)
        return time.perf_counter() - start, ""

    def creator(self, side: str) -> Callable[[], tuple[float, str]]:
        """One creation of ``side``, its untimed preparation (the manifest file) done now."""
        name = self.new_name(side)
        if side == "kubectl":
            path, statefulsets = self.manifest_file(name)
            return lambda: self.kubectl_create(name, path, statefulsets)
        return (lambda: self.slipway_create(name)) if side == "slipway" else (lambda: self.in_process_create(name))

    def many(self, side: str, count: int) -> tuple[float, list[str]]:
        """``count`` creations of ``side`` at once, one thread each, released together."""
        creators = [self.creator(side) for _ in range(count)]
        barrier = threading.Barrier(count + 1)
        errors: list[str] = [""] * count

        def one(i: int) -> None:
            barrier.wait()
            errors[i] = creators[i]()[1]

        threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        barrier.wait()
        start = time.perf_counter()
        for thread in threads:
            thread.join()
        return time.perf_counter() - start, [f"{side}: {e}" for e in errors if e]

    # -- the run ---------------------------------------------------------------------------------

    def run(self) -> bool:
        """Both scenarios; True when anything failed (the errors are printed)."""
        args = self.args
        self.setup()
        print(f"{args.components} components per environment; {args.workers} Celery worker(s), each a {args.pool} pool "
              f"of {args.concurrency}; "
              f"{load()}")
        samples: dict[str, list[float]] = {side: [] for side in SIDES}
        errors: list[str] = []
        for i in range(args.repeat):
            order = SIDES[i % 3:] + SIDES[:i % 3]  # each side goes first in turn
            for side in order:
                creators = self.creator(side)
                with self.eager() if side == "in-process" else nullcontext():
                    seconds, error = creators()
                samples[side].append(seconds)
                if error:
                    errors.append(f"{side}: {error}")
            self.make_room()
        medians = {side: statistics.median(values) for side, values in samples.items()}
        base = medians["kubectl"]
        print(f"{'scenario':36} {'seconds':>8} {'ratio to kubectl':>17}")
        for side in SIDES:
            print(f"1 environment, {side:21} {medians[side]:8.2f} {medians[side] / base:16.2f}x   "
                  f"(median of {args.repeat}: {' '.join(f'{s:.2f}' for s in samples[side])})")
        print(f"{'':36} kubectl apply alone: {' '.join(f'{s:.2f}' for s in self.apply_seconds)}")

        # One side after the other, making room between.
        totals: dict[str, float] = {}
        for side in ("kubectl", "slipway", "in-process"):
            before = len(self.created)
            with self.eager() if side == "in-process" else nullcontext():
                totals[side], side_errors = self.many(side, args.envs)
            errors += side_errors
            if side == "slipway":
                at_once = self.created[before:]
            self.make_room()
        for side in SIDES:
            print(f"{f'{args.envs} at once (total), {side}':36} {totals[side]:8.2f} "
                  f"{totals[side] / totals['kubectl']:16.2f}x")
        print(job_times(at_once))
        from environments.models import Environment

        made = args.repeat * 2 + args.envs * 2
        ready = Environment.objects.filter(name__startswith=f"bench-{self.run_id}-", status=Environment.READY).count()
        print(f"slipway: {ready} environments ready of {made} created (real path and in-process); "
              f"{len(errors)} error(s); {load()}")
        for error in errors:
            print(f"  error: {error}")
        return bool(errors) or ready != made

    # -- cleanup ---------------------------------------------------------------------------------

    def make_room(self) -> None:
        """Between runs: the kwok nodes hold 330 pods, so a full run deletes what it made (10 s or so for
        the namespaces to go); a smoke run's few pods fit, and it deletes them once at the end."""
        if not self.args.smoke:
            self.delete_namespaces()

    def delete_namespaces(self, *, wait: bool = True) -> None:
        """Delete every namespace this run created, all at once, and (``wait``) wait until they are gone."""
        from clusters.kube.namespace_lifecycle import delete_namespace

        names, self.namespaces = self.namespaces, []
        if not names:
            return
        subprocess.run([self.kubectl, "delete", "namespace", "--ignore-not-found", "--wait=false", *names],
                       env=self.kube_env, capture_output=True, text=True)
        if not wait:
            return
        with api_client() as api:
            for name in names:
                try:
                    delete_namespace(api, name, timeout=120)
                except Exception as exc:  # keep cleaning up the others
                    print(f"cleanup: namespace {name}: {exc}", file=sys.stderr)

    def cleanup(self) -> None:
        try:
            self.delete_namespaces(wait=not self.args.smoke)  # the control plane finishes a smoke run's alone
        finally:
            self.tmp.cleanup()


if __name__ == "__main__":
    main()
