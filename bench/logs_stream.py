"""Benchmark: live logs through Slipway's websocket against `kubectl logs -f`, on the same pod.

One pod of the stack's local control plane (kwok serves its log file through the API server):
1. throughput: --lines lines (~100 bytes) are appended in one write while `kubectl logs -f` and a
   websocket client (acknowledging batches like the browser) are attached to the same container;
   lines/s until each has received the last line, --repeat rounds alternating which side is
   timed first, medians and the ratio websocket / kubectl (goal >= 0.8);
2. first-line latency: one line appended while both are attached; median time until each sees it,
   and until the bench's own follow request to the API server sees it (the API server's share; the
   rest of the websocket's time is Slipway's: bench/logs_stages.py); then the milestones of a fresh
   websocket connect (upgrade, pods listed, log request answered, first line);
   the websocket viewer, `kubectl logs -f` and the bench's own request each run in a process of their
   own (bench/log_clients.py), as a browser and kubectl do, and report when they saw each line;
3. --viewers websocket viewers on one web process (daphne): all must receive every line of a burst
   without errors; the server's resident memory per viewer is printed.
The web process is a real daphne (`portal.asgi`) on a fresh PostgreSQL database of the stack,
dropped at the end; the namespace is deleted at the end, even on failure.
`--tiny` is the smoke mode `make test` runs.
Run: `make bench-logs` (or `.venv/bin/python bench/logs_stream.py [--lines N] [--viewers N]`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.log_clients import Follower, WebsocketViewer  # noqa: E402  (importable once the project root is on sys.path)
from bench.logs_stages import connect_stages  # noqa: E402  (importable once the project root is on sys.path)
from devstack.control_plane import Kube, api_client  # noqa: E402  (importable once the project root is on sys.path)
from devstack.daemons import Postgres  # noqa: E402  (importable once the project root is on sys.path)
from devstack.kwok_pod_logs import append_pod_log, start_pod  # noqa: E402  (importable once the project root is on sys.path)
from devstack.process import Context  # noqa: E402  (importable once the project root is on sys.path)

PAD = "x" * 80
FOLLOWERS = ("websocket", "kubectl", "api")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1])
    return 0


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    # Killed (timeout, Ctrl-C): still run the clean-up below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=100_000, help="lines per throughput round")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency-samples", type=int, default=15)
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--connect-timeout", type=float, default=300)
    parser.add_argument("--tiny", action="store_true", help="smoke mode: 2,000 lines, 3 samples, 5 viewers")
    args = parser.parse_args()
    if args.tiny:
        args.lines, args.repeat, args.latency_samples, args.viewers = 2000, 1, 3, 5

    import psycopg


    ctx = Context.default()
    admin_url = Postgres().up(ctx)["POSTGRES_URL"]
    kube = Kube().up(ctx)
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    # Persistent connections in the web process, as in production: each websocket connect makes
    # several database trips through one thread, and a new connection per trip costs more than
    # the queries themselves.
    db_url = admin_url.rsplit("/", 1)[0] + f"/{name}?conn_max_age=600"
    os.environ.update(DATABASE_URL=db_url, DJANGO_SETTINGS_MODULE="portal.settings", DEBUG="false",
                      SLIPWAY_VAR_DIR=str(ROOT / "var" / "bench"), CELERY_BROKER_URL="memory://")
    os.environ.pop("REDIS_URL", None)
    namespace = f"bench-logs-{uuid.uuid4().hex[:6]}"
    server = None
    try:
        setup = Setup(kube, namespace)
        server = setup.start_server()
        asyncio.run(Bench(args, kube, setup, server).run())
    finally:
        if server is not None:
            server.kill()
            server.wait()
        from kubernetes import client as k8s


        with api_client(ctx) as api:
            k8s.CoreV1Api(api).delete_namespace(namespace)
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Setup:
    def __init__(self, kube: dict[str, str], namespace: str) -> None:
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from django.core.management import call_command
        from django.test import Client
        from kubernetes import client as k8s

        from clusters.models import Cluster
        from environments.models import Blueprint, Environment
        from environments.render.labels import NAME
        from portal.accounts import roles
        from portal.accounts.models import Team

        call_command("migrate", verbosity=0)
        self.kube, self.namespace, self.pod = kube, namespace, "web-1"
        self.api = api_client()
        k8s.CoreV1Api(self.api).create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=namespace)))
        for _ in range(100):  # the ServiceAccount admission plugin needs the default account
            if k8s.CoreV1Api(self.api).list_namespaced_service_account(namespace).items:
                break
            time.sleep(0.1)
        team = Team.objects.create(slug="bench", name="Bench")
        user = get_user_model().objects.create_user("bench-dev", "bench@example.test", "bench-pw-1")
        user.groups.add(Group.objects.get(name=roles.DEVELOPERS))
        team.members.add(user)
        # An environment row of the demo blueprint over the bench's namespace (nothing is deployed:
        # the pod below is the environment's only workload).
        call_command("seed_demo_blueprint", verbosity=0)
        cluster = Cluster.objects.create(name="local-logs", kind=Cluster.LOCAL,
                                         kubeconfig=Path(kube["KUBECONFIG"]).read_text())
        self.environment = Environment.objects.create(
            name=namespace[-30:].strip("-"), cluster=cluster, namespace=namespace,
            blueprint=Blueprint.objects.get(name="shop"), stage="qa", team=team, owner=user,
            status=Environment.READY)
        start_pod(self.api, namespace, self.pod, "web", labels={NAME: "web"})
        client = Client()
        client.force_login(user)
        self.session_cookie = client.cookies["sessionid"].value

    def append(self, text: str) -> None:

        append_pod_log(self.namespace, self.pod, "web", text, client=self.api)

    def start_server(self) -> subprocess.Popen:
        self.port = free_port()
        log = open(ROOT / "var" / "bench" / "daphne.log", "w")
        # SIGUSR1 dumps the server's threads into the log (for a run that hangs).
        launcher = ("import faulthandler, signal, sys; faulthandler.register(signal.SIGUSR1, all_threads=True); "
                    "from daphne.cli import CommandLineInterface; sys.argv[0] = 'daphne'; "
                    "CommandLineInterface.entrypoint()")
        server = subprocess.Popen([sys.executable, "-c", launcher, "-b", "127.0.0.1", "-p", str(self.port),
                                   "portal.asgi:application"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return server
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("daphne did not start (var/bench/daphne.log)")


class Bench:
    def __init__(self, args, kube, setup: Setup, server: subprocess.Popen) -> None:
        self.args, self.kube, self.setup, self.server = args, kube, setup, server
        self.url = (f"ws://127.0.0.1:{setup.port}/ws/environments/{setup.environment.pk}/logs/"
                    f"?component=web&tail=1")
        self.headers = {"Cookie": f"sessionid={setup.session_cookie}", "Origin": f"http://127.0.0.1:{setup.port}"}
        self.counter = 0

    def mark(self) -> str:
        self.counter += 1
        return f"mark-{self.counter}"

    async def append(self, text: str) -> None:
        await asyncio.to_thread(self.setup.append, text)

    def spawn(self, name: str) -> Follower:
        """A follower in a process of its own, as a browser and kubectl are (bench/log_clients.py)."""
        kube, setup = self.kube, self.setup
        where = {"namespace": setup.namespace, "pod": setup.pod, "container": "web"}
        if name == "websocket":
            return Follower("websocket", url=self.url, headers=json.dumps(self.headers))
        if name == "kubectl":
            return Follower("kubectl", kubectl=kube["KUBECTL"], kubeconfig=kube["KUBECONFIG"],
                            cachedir=kube.get("KUBECACHEDIR", ""), **where)
        return Follower("api", kubeconfig=kube["KUBECONFIG"], **where)

    async def attach(self, followers: dict[str, Follower]) -> None:
        if "websocket" in followers:
            await asyncio.to_thread(followers["websocket"].wait_ready, 60)
        # Until kubectl and the bench's own request are attached: both start with no tail, and kwok
        # answers a followed log request only once a line comes.
        for attempt in range(60):
            warm = self.mark()
            await self.append(warm)
            try:
                await self.arrivals(followers, warm, 2.0)
                return
            except TimeoutError:
                if attempt == 59:
                    raise

    async def run(self) -> None:
        import aiohttp

        followers = {name: self.spawn(name) for name in FOLLOWERS}
        try:
            await self.attach(followers)
            await self.throughput_together(followers)
            await self.latency(followers)
        finally:
            for follower in followers.values():
                follower.stop()
        await self.throughput_alone()
        # limit=0: aiohttp allows 100 connections per session by default; we want --viewers.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            await self.connect_milestones(session)
            await self.viewers(session)

    @staticmethod
    async def arrivals(followers: dict[str, Follower], text: str, timeout: float) -> dict[str, float]:
        """When each follower saw ``text`` (perf_counter seconds)."""
        return {name: await asyncio.to_thread(follower.wait_for, text, timeout)
                for name, follower in followers.items()}

    async def burst(self, followers: dict[str, Follower]) -> dict[str, float]:
        """Lines per second until each follower saw the last of --lines lines appended at once."""
        n = self.args.lines
        body = "\n".join(f"line {i} {PAD}" for i in range(n - 1))
        end = self.mark()
        before = {name: follower.received for name, follower in followers.items()}
        started = time.perf_counter()
        await self.append(f"{body}\n{end}")
        rates = {name: n / (done - started) for name, done in (await self.arrivals(followers, end, 120)).items()}
        lost = {name: n - (follower.counts[end] - before[name]) for name, follower in followers.items()}
        if any(lost.values()):  # a follower that skipped lines was not fast: no figure from this round
            raise RuntimeError(f"lines not received by the end mark: {lost}")
        if "websocket" in followers and followers["websocket"].error:
            print(f"  websocket error: {followers['websocket'].error}")
        return rates

    async def throughput_together(self, followers: dict[str, Follower]) -> None:
        """All three attached at once: they share the API server's and kwok's CPU, and the websocket's
        extra hop (the web process) shows as its lag behind the direct readers at the end."""
        rounds = [await self.burst(followers) for _ in range(self.args.repeat)]
        ws, kc, api = (statistics.median(r[name] for r in rounds) for name in FOLLOWERS)
        print(f"attached together ({self.args.lines:,} lines, median of {self.args.repeat}): websocket {ws:,.0f} "
              f"lines/s, kubectl logs -f {kc:,.0f} lines/s, ratio {ws / kc:.2f}x; a plain follow request {api:,.0f}")

    async def throughput_alone(self) -> None:
        """Each follower attached alone, as a person watches either the page or kubectl; the order
        alternates round by round."""
        rates: dict[str, list[float]] = {name: [] for name in FOLLOWERS}
        for round_ in range(self.args.repeat):
            for name in FOLLOWERS if round_ % 2 == 0 else FOLLOWERS[::-1]:
                follower = self.spawn(name)
                try:
                    await self.attach({name: follower})
                    rates[name].append((await self.burst({name: follower}))[name])
                finally:
                    follower.stop()
            print(f"  round {round_ + 1}: websocket {rates['websocket'][-1]:,.0f} lines/s, "
                  f"kubectl {rates['kubectl'][-1]:,.0f} lines/s")
        ws, kc, api = (statistics.median(rates[name]) for name in FOLLOWERS)
        print(f"throughput ({self.args.lines:,} lines of ~100 B, each alone, median of {self.args.repeat}): "
              f"websocket {ws:,.0f} lines/s, kubectl logs -f {kc:,.0f} lines/s, ratio {ws / kc:.2f}x (goal >= 1x); "
              f"a plain follow request from the bench {api:,.0f} lines/s")

    async def latency(self, followers: dict[str, Follower]) -> None:
        samples: dict[str, list[float]] = {name: [] for name in followers}
        for _ in range(self.args.latency_samples):
            await asyncio.sleep(0.1)  # a quiet spell: each sample is a first line, not part of a burst
            text = self.mark()
            started = time.perf_counter()
            await self.append(text)
            for name, seen in (await self.arrivals(followers, text, 60)).items():
                samples[name].append((seen - started) * 1000)
        ws, kc, raw = (statistics.median(samples[name]) for name in ("websocket", "kubectl", "api"))
        print(f"first-line latency (median of {self.args.latency_samples}): websocket {ws:.1f} ms, "
              f"kubectl logs -f {kc:.1f} ms, ratio {ws / kc:.2f}x")
        print(f"  where the websocket's time goes: API server to a plain follow request {raw:.1f} ms "
              f"(the append included), Slipway's web process + websocket {ws - raw:.1f} ms")

    async def connect_milestones(self, session) -> None:
        samples = 2 if self.args.tiny else 5
        runs = [await connect_stages(session, self.url, self.headers) for _ in range(samples)]
        print(f"websocket connect milestones (median of {samples}, ms from the connect): " + "; ".join(
            f"{name} {statistics.median(r[name] for r in runs):.1f}" for name in runs[0]))

    async def viewers(self, session) -> None:
        count = self.args.viewers
        before = rss_kib(self.server.pid)
        viewers = [WebsocketViewer(session, self.url, self.headers) for _ in range(count)]
        tasks = [asyncio.ensure_future(v.run()) for v in viewers]
        started = time.perf_counter()
        try:
            await asyncio.wait_for(asyncio.gather(*(v.ready.wait() for v in viewers)), self.args.connect_timeout)
        except TimeoutError:
            self.server.send_signal(signal.SIGUSR1)  # SIGUSR1: thread dump into var/bench/daphne.log
            raise
        connected = time.perf_counter() - started
        during = rss_kib(self.server.pid)
        burst = 1000
        end = self.mark()
        await self.append("\n".join(f"burst {i}" for i in range(burst - 1)) + f"\n{end}")
        results = await asyncio.gather(*(v.wait_for(end, 300) for v in viewers), return_exceptions=True)
        errors = [v.error for v in viewers if v.error] + [repr(r) for r in results if isinstance(r, Exception)]
        complete = sum(1 for v in viewers if v.lines >= burst)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        print(f"{count} viewers on one daphne process: connected in {connected:.1f}s, "
              f"{complete}/{count} received all {burst} burst lines, {len(errors)} errors"
              + (f" (first: {errors[0]})" if errors else ""))
        print(f"server memory: {before / 1024:.1f} MiB before, {during / 1024:.1f} MiB with {count} viewers "
              f"= {(during - before) / count:.0f} KiB per viewer")


if __name__ == "__main__":
    main()
