"""Benchmark: sleep and wake through Slipway's path (the service → Redis → a real Celery worker → the stack's
kwok control plane → ready in the database), against plain kubectl on the same Deployments.

1. wake-up latency: an environment of --components components; --runs times (order alternating), Slipway
   (sleep, then time from environment_wake to status ready) and kubectl (`kubectl scale --replicas=0`, pods
   gone, then time `kubectl scale --replicas=1` + `kubectl rollout status` of every Deployment); p50/p95 of
   each and the ratio Slipway / kubectl (goal ≤ 1.2×);
2. --envs environments put to sleep at once: the time until every one is asleep, the errors, and a check
   that every Deployment of them is at zero.
A fresh database on the stack's PostgreSQL (dropped at the end), Redis database --redis-db (emptied at the
end), the namespaces deleted at the end, even on failure. Run: `make bench-sleep` (or
`.venv/bin/python bench/sleep_wake.py [--tiny] [--runs N] [--envs N]`).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.bench_stack import Processes, bench_slipway, wait_until  # noqa: E402  (importable once the project root is on sys.path)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--components", type=int, default=10, help="components of the wake-up environment")
    parser.add_argument("--runs", type=int, default=10, help="wake-ups of each kind (Slipway, kubectl)")
    parser.add_argument("--envs", type=int, default=50, help="environments put to sleep at once")
    parser.add_argument("--concurrency", type=int, default=4, help="the Celery worker's threads (its pool)")
    parser.add_argument("--redis-db", type=int, default=13, help="the Redis database this run owns (emptied)")
    parser.add_argument("--tiny", action="store_true", help="a smoke run: 3 components, 2 runs, 4 environments")
    args = parser.parse_args(argv)
    if args.tiny:
        args.components, args.runs, args.envs = 3, 2, 4
    return args


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class SleepBench:
    def __init__(self, args: argparse.Namespace, kube: dict[str, str], processes: Processes) -> None:
        self.args, self.kube, self.processes = args, kube, processes
        self.run_id, self.namespaces = uuid.uuid4().hex[:5], []

    def setup(self) -> None:
        """The catalog (a blueprint of N components and a small one), an admin, the cluster (not timed)."""
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from django.core.management import call_command

        from clusters.services import cluster_register
        from environments.models import Blueprint, Component, ImageVersion
        from portal.accounts import roles
        from portal.accounts.models import Team
        from portal.audit.actor import Actor

        call_command("migrate", verbosity=0)
        components = []
        for n in range(self.args.components):
            component = Component.objects.create(
                name=f"c{n}", image_repository=f"registry.example.com/bench/c{n}", container_port=8080,
                ingress_path=None, replicas=1, cpu_request="10m", memory_request="16Mi", cpu_limit="20m",
                memory_limit="32Mi")
            ImageVersion.objects.create(component=component, tag="1.0.0")
            components.append(component)
        self.big = Blueprint.objects.create(name="sleep-bench", version=1, description="N components")
        self.big.components.set(components)
        self.small = Blueprint.objects.create(name="sleep-bench-small", version=1, description="2 components")
        self.small.components.set(components[:2])
        self.cluster = cluster_register(actor=Actor.system("bench"), name="local", kind="local",
                                        kubeconfig=Path(self.kube["KUBECONFIG"]).read_text(), make_default=True)
        self.team = Team.objects.create(slug="bench", name="Bench")
        self.user = get_user_model().objects.create_user("bench-admin", "bench@example.test", "bench-pw-1")
        self.user.groups.add(Group.objects.get(name=roles.PLATFORM_ADMINS))
        self.team.members.add(self.user)
        self.processes.start_worker()

    # -- helpers -------------------------------------------------------------------------------

    def actor(self):
        from portal.audit.actor import Actor

        return Actor.for_user(self.user)

    def status(self, pk: int) -> tuple[str, str]:
        from environments.models import Environment

        return Environment.objects.values_list("status", "status_message").get(pk=pk)

    def wait_status(self, pk: int, wanted: str, timeout: float = 300) -> None:
        def reached() -> bool:
            self.processes.check_alive()
            status, message = self.status(pk)
            if status == "failed":
                raise RuntimeError(f"environment {pk} failed: {message}")
            return status == wanted

        wait_until(reached, timeout=timeout, what=f"environment {pk} {wanted}", every=0.02)

    def wait_jobs_ended(self, pk: int) -> None:
        """The status changes a moment before the job row ends: a sleep is refused until it has."""
        from portal.jobs.models import Job

        unfinished = Job.objects.filter(target_type="environments.environment", target_id=str(pk),
                                         state__in=(Job.QUEUED, Job.RUNNING))
        wait_until(lambda: not unfinished.exists(), timeout=60, what=f"environment {pk}'s job to end")

    def create(self, name: str, blueprint) -> int:
        from environments.services import environment_create

        self.namespaces.append(f"slw-{name}")
        environment = environment_create(actor=self.actor(), user=self.user, cluster=self.cluster,
                                         blueprint=blueprint, name=name, stage="qa", team=self.team,
                                         versions=dict.fromkeys(blueprint.components.values_list("name", flat=True),
                                                                "1.0.0"))
        return environment.pk

    def kubectl(self, *args: str) -> str:
        env = {**os.environ, "KUBECONFIG": self.kube["KUBECONFIG"]}
        return subprocess.run([self.kube["KUBECTL"], *args], env=env, check=True, capture_output=True,
                              text=True).stdout

    # -- 1. wake-up latency --------------------------------------------------------------------

    def slipway_wake(self, pk: int) -> float:
        from environments.models import Environment
        from environments.sleep.services import environment_sleep, environment_wake

        self.wait_jobs_ended(pk)
        environment_sleep(actor=self.actor(), user=self.user, environment=Environment.objects.get(pk=pk))
        self.wait_status(pk, "asleep")
        self.wait_jobs_ended(pk)
        started = time.monotonic()
        environment_wake(actor=self.actor(), user=self.user, environment=Environment.objects.get(pk=pk))
        self.wait_status(pk, "ready")
        return time.monotonic() - started

    def kubectl_wake(self, namespace: str) -> float:
        self.kubectl("scale", "deployment", "--all", "--replicas=0", "-n", namespace)
        self.kubectl("wait", "--for=delete", "pod", "--all", "-n", namespace, "--timeout=120s")
        names = self.kubectl("get", "deployments", "-n", namespace, "-o", "name").split()
        started = time.monotonic()
        self.kubectl("scale", "deployment", "--all", "--replicas=1", "-n", namespace)
        for name in names:
            self.kubectl("rollout", "status", name, "-n", namespace, "--timeout=120s")
        return time.monotonic() - started

    def latency(self) -> None:
        from environments.models import Environment

        pk = self.create(f"sleepb-{self.run_id}-wake", self.big)
        self.wait_status(pk, "ready")
        namespace = Environment.objects.get(pk=pk).namespace
        slipway, kubectl = [], []
        for run in range(self.args.runs):
            order = (("slipway", "kubectl") if run % 2 == 0 else ("kubectl", "slipway"))
            for kind in order:
                if kind == "slipway":
                    slipway.append(self.slipway_wake(pk))
                else:
                    kubectl.append(self.kubectl_wake(namespace))
        ratio = statistics.median(slipway) / statistics.median(kubectl)
        print(f"wake-up of {self.args.components} components, {self.args.runs} runs each (order alternating):")
        print(f"  Slipway (service → queue → worker → ready): p50 {percentile(slipway, 50):.2f}s "
              f"p95 {percentile(slipway, 95):.2f}s  [{', '.join(f'{s:.2f}' for s in slipway)}]")
        print(f"  kubectl scale + rollout status:             p50 {percentile(kubectl, 50):.2f}s "
              f"p95 {percentile(kubectl, 95):.2f}s  [{', '.join(f'{s:.2f}' for s in kubectl)}]")
        print(f"  ratio of the medians Slipway / kubectl: {ratio:.2f}x (goal <= 1.2x)")

    # -- 2. many environments put to sleep at once --------------------------------------------

    def mass_sleep(self) -> None:
        from environments.models import Environment
        from environments.sleep.services import environment_sleep

        count = self.args.envs
        pks = [self.create(f"sleepb-{self.run_id}-m{n}", self.small) for n in range(count)]
        for pk in pks:
            self.wait_status(pk, "ready", timeout=600)
            self.wait_jobs_ended(pk)
        started, errors = time.monotonic(), []
        for pk in pks:
            try:
                environment_sleep(actor=self.actor(), user=self.user, environment=Environment.objects.get(pk=pk))
            except Exception as exc:  # a refusal is a finding to print, not a crash of the bench
                errors.append(f"{pk}: {exc}")

        def settled() -> bool:
            self.processes.check_alive()
            return not Environment.objects.filter(pk__in=pks, status__in=("sleeping", "ready")).exists()

        wait_until(settled, timeout=600, what=f"{count} environments asleep", every=0.1)
        seconds = time.monotonic() - started
        failed = list(Environment.objects.filter(pk__in=pks).exclude(status="asleep").values_list("name", "status"))
        namespaces = list(Environment.objects.filter(pk__in=pks).values_list("namespace", flat=True))
        not_zero = self.deployments_not_at_zero(set(namespaces))
        print(f"{count} environments put to sleep at once: all asleep in {seconds:.1f}s; "
              f"refused {len(errors)}, not asleep {len(failed)}, Deployments not at zero {len(not_zero)}")
        for line in errors + [f"{n}: {s}" for n, s in failed] + not_zero:
            print(f"  {line}")

    def deployments_not_at_zero(self, namespaces: set[str]) -> list[str]:
        """Each Deployment of ``namespaces`` that wants or still has pods, as "namespace/name r/s"."""
        listing = json.loads(self.kubectl("get", "deployments", "-A", "-o", "json"))
        return [f"{d['metadata']['namespace']}/{d['metadata']['name']} {d['spec'].get('replicas')}/"
                f"{d.get('status', {}).get('replicas', 0)}" for d in listing["items"]
                if d["metadata"]["namespace"] in namespaces
                and (d["spec"].get("replicas") or d.get("status", {}).get("replicas"))]

    def run(self) -> int:
        self.setup()
        self.latency()
        self.mass_sleep()
        return 0

    def cleanup(self) -> None:
        for namespace in self.namespaces:
            subprocess.run([self.kube["KUBECTL"], "delete", "namespace", namespace, "--wait=false",
                            "--ignore-not-found"], env={**os.environ, "KUBECONFIG": self.kube["KUBECONFIG"]},
                           capture_output=True)


def main(argv: list[str] | None = None) -> int:
    sys.stdout.reconfigure(line_buffering=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # killed: still run the clean-up below
    args = arguments(argv)
    with bench_slipway("bench_sleep", redis_db=args.redis_db, concurrency=args.concurrency) as started:
        bench = SleepBench(args, started.kube, started.processes)
        started.cleanups.append(bench.cleanup)
        return bench.run()


if __name__ == "__main__":
    raise SystemExit(main())
