"""The chaos benchmark's scenarios (bench/chaos_recovery.py starts the processes and calls ``run``)."""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from bench.bench_stack import Api, Processes, TreeMetrics
from bench.chaos_api import MEASURED, SlipwayApi
from bench.chaos_watch import KubectlWatch, WatchEvent, pod_kill_recovery, ready_pods
from devstack.control_plane import api_client

TARGET = "api"  # the component the faults hit: 2 replicas, so one killed pod leaves the Service served
REPLICAS = {"api": 2, "web": 1}
BACKING = "cache"  # a Redis StatefulSet of one replica (the backing-scale-zero fault's target)
STEADY_TIMEOUT = 120.0


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank: with 10 samples p95 is the largest."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered), math.ceil(q / 100 * len(ordered))) - 1)]


def recovered(events: list[WatchEvent], after: float) -> bool:
    """Whether kubectl has seen the pod kill after ``after`` and its recovery."""
    recovery = pod_kill_recovery(events, after=after)
    return recovery is not None and recovery.recovered_at is not None


def replicas(event: WatchEvent) -> int | None:
    """A StatefulSet event's desired replicas (what the fault and its undo change)."""
    return (event.obj.get("spec") or {}).get("replicas")


def backing_ready(events: list[WatchEvent]) -> bool:
    """The backing StatefulSet's latest state: one replica wanted and ready."""
    latest = [e for e in events if e.name == BACKING]
    return bool(latest) and replicas(latest[-1]) == 1 and (latest[-1].obj.get("status") or {}).get("readyReplicas") == 1


def seconds_between(iso: str | None, at: float) -> float | None:
    """``at`` (time.time()) minus the API's ISO timestamp ``iso``; None without one."""
    return None if not iso else at - datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


class ChaosBench:
    def __init__(self, args: argparse.Namespace, kube: dict[str, str], processes: Processes, run_id: str) -> None:
        self.args, self.kube, self.processes, self.run_id = args, kube, processes, run_id
        self.namespaces: list[str] = []
        self.environments: list[dict] = []
        self.failures: list[str] = []

    # -- setup ---------------------------------------------------------------------------------

    def setup(self) -> None:
        """The catalog, a Platform admin with an API token and the cluster: written directly (not timed)."""
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from django.core.management import call_command

        from clusters.services import cluster_register
        from environments.models import Blueprint, Component, ImageVersion
        from portal.accounts import roles
        from portal.accounts.models import Team
        from portal.accounts.tokens import api_token_create
        from portal.audit.actor import Actor

        call_command("migrate", verbosity=0)
        actor = Actor.system("bench")
        components = []
        for name, replicas in REPLICAS.items():
            component = Component.objects.create(
                name=name, image_repository=f"registry.example.com/bench/{name}", container_port=8080,
                ingress_path=None, replicas=replicas, cpu_request="10m", memory_request="16Mi", cpu_limit="20m",
                memory_limit="32Mi")
            ImageVersion.objects.create(component=component, tag="1.0.0")
            components.append(component)
        self.blueprint = Blueprint.objects.create(
            name="chaos-bench", version=1, description="api x2, web x1, cache",
            backing_services=[{"kind": "redis", "name": BACKING, "version": "7.2"}])
        self.blueprint.components.set(components)
        self.cluster = cluster_register(actor=actor, name="local", kind="local",
                                        kubeconfig=Path(self.kube["KUBECONFIG"]).read_text(), make_default=True)
        self.team = Team.objects.create(slug="bench", name="Bench")
        user = get_user_model().objects.create_user("bench-admin", "bench@example.test", "bench-pw-1")
        user.groups.add(Group.objects.get(name=roles.PLATFORM_ADMINS))
        self.team.members.add(user)
        _, key = api_token_create(actor=actor, user=user, name="chaos-bench")
        self.processes.start_worker()
        self.processes.start_beat()
        self.slipway = SlipwayApi(Api(self.processes.start_web(), key))

    def create_environments(self, count: int) -> None:
        """``count`` environments through the API at once (the worker rolls them out), opted in to chaos."""
        names = [f"chaos-{self.run_id}-{n}" for n in range(count)]
        self.namespaces += [f"slw-{name}" for name in names]

        def one(name: str) -> dict:
            created = self.slipway.environment_create(name=name, cluster=self.cluster.name, blueprint=self.blueprint.pk,
                                                      team=self.team.slug, versions=dict.fromkeys(REPLICAS, "1.0.0"))
            environment = self.slipway.environment_wait_ready(created["id"])
            self.slipway.chaos_opt_in(environment["id"])
            return environment

        started = time.monotonic()
        with ThreadPoolExecutor(count) as pool:
            self.environments = list(pool.map(one, names))
        print(f"{count} environments ({sum(REPLICAS.values()) + 1} pods each) created through the API and ready in "
              f"{time.monotonic() - started:.1f}s; opted in to chaos")

    def selector(self, environment: dict, component: str = TARGET) -> str:
        return f"app.kubernetes.io/name={component},slipway.io/environment={environment['name']}"

    # -- 1. recovery: Slipway against kubectl ----------------------------------------------------

    def run_in_steady_state(self, experiment: dict) -> tuple[float, dict]:
        """Start a run, and start it again while Slipway skips it because the steady state does not hold yet
        (a Service's endpoints can trail its pods' readiness): (when the measured run was posted, the run)."""
        deadline = time.monotonic() + STEADY_TIMEOUT
        while True:
            posted = time.time()
            run = self.slipway.run_wait_ended(self.slipway.run_start(experiment["id"])["id"])
            waiting = run["status"] == "skipped" and "steady state does not hold" in run.get("status_message", "")
            if not waiting or time.monotonic() > deadline:
                return posted, run
            time.sleep(0.5)

    def recovery(self, environment: dict) -> None:
        runs = self.args.recovery_runs
        watch = KubectlWatch(self.kube, "pods", environment["namespace"], selector=self.selector(environment))
        try:
            experiment = self.slipway.experiment_create(environment["id"], name="bench-pod-kill", fault="pod-kill",
                                                        target=TARGET, schedule="once")
            rows, diffs = [], []
            for n in range(runs):
                watch.wait_state(lambda events: len(ready_pods(events)) == REPLICAS[TARGET], timeout=STEADY_TIMEOUT,
                                 what=f"{REPLICAS[TARGET]} ready {TARGET} pods")
                posted, run = self.run_in_steady_state(experiment)
                if run["status"] not in MEASURED:
                    self.failures.append(f"recovery run {n + 1}: {run['status']}: {run.get('status_message', '')}")
                    continue
                watch.wait_state(lambda events, after=posted: recovered(events, after), timeout=STEADY_TIMEOUT,
                                 what="kubectl's recovery")
                theirs = pod_kill_recovery(watch.snapshot(), after=posted)
                ours = run["recovery_seconds"]
                diffs.append(ours - theirs.seconds)
                start_offset = seconds_between(run.get("injected_at"), theirs.lost_at)
                end_offset = seconds_between(run.get("recovered_at"), theirs.recovered_at)
                killed = (run.get("target") or {}).get("pods")
                same = "" if killed is None or set(killed) == set(theirs.killed) else f" (Slipway: {killed})"
                rows.append(f"  run {n + 1}: killed {','.join(theirs.killed)}{same}: kubectl {theirs.seconds:6.3f}s, "
                            f"Slipway {ours:6.3f}s, difference {ours - theirs.seconds:+.3f}s"
                            + (f" (kill seen by kubectl {start_offset * 1000:+.0f} ms after injected_at, Ready "
                               f"{end_offset * 1000:+.0f} ms after recovered_at)"
                               if start_offset is not None and end_offset is not None else ""))
        finally:
            watch.stop()
        print(f"1. recovery after killing one of {REPLICAS[TARGET]} {TARGET} pods, Slipway vs `kubectl get pods -w`:")
        print("\n".join(rows))
        if diffs:
            median = statistics.median(abs(d) for d in diffs)
            print(f"  median |difference| over {len(diffs)} runs: {median:.3f}s "
                  f"(max {max(abs(d) for d in diffs):.3f}s; goal within 0.5s: {'met' if median <= 0.5 else 'NOT met'})")

    # -- 2. kill-switch latency ------------------------------------------------------------------

    def kill_switch(self, environment: dict) -> None:
        from clusters.kube.chaos_faults import CHAOS_OBJECT

        namespace = environment["namespace"]
        # Only the chaos-made policies (the environment's own deny-cross-namespace one stays).
        policies = KubectlWatch(self.kube, "networkpolicies", namespace, selector=f"{CHAOS_OBJECT}=true")
        sets = KubectlWatch(self.kube, "statefulsets", namespace)
        # fault → (its watch, "the fault is in" and "that fault is undone" as seen there, what is undone)
        faults = {
            "network-cut": (policies, lambda e: e.type == "ADDED",
                            lambda cut: lambda e: e.type == "DELETED" and e.name == cut.name, "NetworkPolicy deleted"),
            "backing-scale-zero": (sets, lambda e: e.name == BACKING and replicas(e) == 0,
                                   lambda _: lambda e: e.name == BACKING and replicas(e) == 1,
                                   f"StatefulSet {BACKING} back to 1 replica"),
        }
        latencies: dict[tuple[str, str], list[float]] = {}
        answered: list[float] = []
        try:
            experiments = {fault: self.slipway.experiment_create(
                environment["id"], name=f"bench-{fault}", fault=fault, duration_seconds=600, schedule="once",
                target=BACKING if fault == "backing-scale-zero" else TARGET) for fault in faults}
            for n in range(self.args.kill_switch_trials):
                scope, fault = ("environment", "global")[n % 2], list(faults)[n // 2 % 2]
                watch, injected, undone, _ = faults[fault]
                sets.wait_state(backing_ready, timeout=STEADY_TIMEOUT,
                                what=f"StatefulSet {BACKING} ready")
                since = watch.mark()
                run = self.slipway.run_start(experiments[fault]["id"])
                fault_in = watch.wait_for(injected, since=since, timeout=STEADY_TIMEOUT, what=f"the {fault} fault")
                since = watch.mark()
                clicked = time.time()
                if scope == "environment":
                    self.slipway.kill_switch_environment(environment["id"], True)
                else:
                    self.slipway.kill_switch_global(True, reason="chaos benchmark")
                answered.append(time.time() - clicked)
                gone = watch.wait_for(undone(fault_in), since=since, timeout=60, what=f"the {fault} fault undone")
                latencies.setdefault((fault, scope), []).append(gone.at - clicked)
                ended = self.slipway.run_wait_ended(run["id"])
                if ended["status"] != "stopped":
                    self.failures.append(f"kill-switch trial {n + 1}: run ended {ended['status']}, not stopped")
                if scope == "environment":
                    self.slipway.kill_switch_environment(environment["id"], False)
                else:
                    self.slipway.kill_switch_global(False)
        finally:
            policies.stop()
            sets.stop()
        every = [v for values in latencies.values() for v in values]
        if not every:
            return
        p95 = percentile(every, 95)
        print(f"2. kill switch: POST → the fault undone as an independent `kubectl get -w` sees it, "
              f"{len(every)} trials:")
        for (fault, scope), values in latencies.items():
            print(f"  {fault} ({faults[fault][3]}), {scope} switch: {' '.join(f'{v:.3f}' for v in values)} s")
        print(f"  p50 {percentile(every, 50):.3f}s, p95 {p95:.3f}s (goal p95 < 2s: {'met' if p95 < 2 else 'NOT met'}); "
              f"the API answered after p50 {percentile(answered, 50):.3f}s (faults are undone inside the request)")

    # -- 3. environments under schedules ---------------------------------------------------------

    def schedules(self) -> None:
        args = self.args
        worker = TreeMetrics(self.processes.started["worker"].pid)
        beat = TreeMetrics(self.processes.started["beat"].pid)
        web = TreeMetrics(self.processes.started["web"].pid)
        for metrics in (worker, beat, web):
            metrics.sample()
        before = {m.root: m.cpu_total for m in (worker, beat, web)}
        experiments = [self.slipway.experiment_create(e["id"], name="bench-schedule", fault="pod-kill", target=TARGET,
                                                      schedule="interval", interval_seconds=args.interval)
                       for e in self.environments]
        started = time.time()
        while time.time() - started < args.schedule_seconds:
            self.processes.check_alive()
            for metrics in (worker, beat, web):
                metrics.sample()
            time.sleep(1.0)
        for experiment in experiments:
            self.slipway.experiment_pause(experiment["id"])
        runs = [r for r in self.slipway.no_active_runs(timeout=STEADY_TIMEOUT) if r.get("trigger") == "schedule"]
        for metrics in (worker, beat, web):
            metrics.sample()
        elapsed = time.time() - started
        statuses = Counter(r["status"] for r in runs)
        recovery = sorted(r["recovery_seconds"] for r in runs if r["status"] in MEASURED and r["recovery_seconds"])
        print(f"3. {len(experiments)} environments, pod-kill every {args.interval}s for {args.schedule_seconds}s "
              f"(at most {len(experiments) * (args.schedule_seconds // args.interval)} runs):")
        print(f"  runs: {len(runs)}: " + ", ".join(f"{s} {c}" for s, c in sorted(statuses.items()))
              + (f"; recovery p50 {percentile(recovery, 50):.2f}s, p95 {percentile(recovery, 95):.2f}s, "
                 f"max {recovery[-1]:.2f}s" if recovery else ""))
        refusals = self.slipway.schedule_refusals()
        print(f"  starts refused by the schedule before a run existed (audit chaos.run_skipped): {len(refusals)}")
        reasons = Counter([r.get("status_message", "") for r in runs if r["status"] == "skipped"]
                          + [(r.get("details") or {}).get("reason", "") for r in refusals])
        for reason, count in reasons.most_common(3):
            print(f"  skipped ×{count}: {reason[:120]}")
        if not recovery:
            self.failures.append("no scheduled run measured a recovery")
        for run in runs:
            if run["status"] in ("failed", "interrupted"):
                self.failures.append(f"scheduled run {run['id']}: {run['status']}: {run.get('status_message', '')}")
        for label, metrics in (("worker", worker), ("beat", beat), ("web", web)):
            cpu = metrics.cpu_total - before[metrics.root]
            print(f"  {label:6} ({len(metrics.peak)} processes): {cpu:.1f} CPU s over {elapsed:.0f}s "
                  f"({100 * cpu / elapsed:.1f}% of one core), peak RSS {metrics.peak_max_mib:.0f} MiB largest process, "
                  f"{metrics.peak_total_mib:.0f} MiB summed; {metrics.pss_now_mib():.0f} MiB PSS at the end")

    # -- the run ---------------------------------------------------------------------------------

    def run(self) -> int:
        self.setup()
        print(f"web (daphne), Celery worker ({self.processes.pool}, concurrency {self.args.concurrency}) and beat "
              f"over Redis; local control plane (kwok)")
        self.create_environments(self.args.envs)
        self.recovery(self.environments[0])
        self.kill_switch(self.environments[1])
        self.schedules()
        for failure in self.failures:
            print(f"  failure: {failure}")
        return 1 if self.failures else 0

    # -- cleanup ---------------------------------------------------------------------------------

    def cleanup(self) -> None:
        """Delete every namespace this run created and wait until they are gone."""
        from clusters.kube.namespace_lifecycle import delete_namespace

        with api_client() as api:
            for name in self.namespaces:
                try:
                    delete_namespace(api, name, timeout=120)
                except Exception as exc:  # keep cleaning up the others
                    print(f"cleanup: namespace {name}: {exc}", file=sys.stderr)
