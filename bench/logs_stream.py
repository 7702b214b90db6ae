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
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.logs_stages import ApiFollower, connect_stages  # noqa: E402  (importable once the project root is on sys.path)
from devstack.control_plane import Kube, api_client  # noqa: E402  (importable once the project root is on sys.path)
from devstack.daemons import Postgres  # noqa: E402  (importable once the project root is on sys.path)
from devstack.kwok_pod_logs import append_pod_log, start_pod  # noqa: E402  (importable once the project root is on sys.path)
from devstack.process import Context  # noqa: E402  (importable once the project root is on sys.path)

PAD = "x" * 80


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1])
    return 0


class KubectlFollower:
    """`kubectl logs -f` on the pod; a thread counts lines and notes when awaited ones arrive."""

    def __init__(self, kube: dict[str, str], namespace: str, pod: str, container: str) -> None:
        env = {**os.environ, "KUBECONFIG": kube["KUBECONFIG"]}
        if kube.get("KUBECACHEDIR"):
            env["KUBECACHEDIR"] = kube["KUBECACHEDIR"]
        self.proc = subprocess.Popen([kube["KUBECTL"], "logs", "-f", pod, "-c", container, "-n", namespace,
                                      "--tail=0"], stdout=subprocess.PIPE, env=env, bufsize=1024 * 1024)
        self.seen: dict[str, float] = {}
        self.wanted: set[str] = set()
        self.lock = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for raw in self.proc.stdout:
            if raw.startswith(b"mark-"):
                text = raw.decode().rstrip("\n")
                with self.lock:
                    self.seen[text] = time.perf_counter()
                    self.lock.notify_all()

    def wait_for(self, text: str, timeout: float = 300) -> float:
        with self.lock:
            if not self.lock.wait_for(lambda: text in self.seen, timeout):
                raise RuntimeError(f"kubectl never printed {text!r}")
            return self.seen[text]

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


class WebsocketViewer:
    """A websocket client that acknowledges each batch (as the page does) and notes marks."""

    def __init__(self, session, url: str, headers: dict[str, str]) -> None:
        self.session, self.url, self.headers = session, url, headers
        self.seen: dict[str, float] = {}
        self.lines = 0
        self.ready = asyncio.Event()
        self.events: dict[str, asyncio.Event] = {}
        self.error = ""

    async def run(self) -> None:
        try:
            async with self.session.ws_connect(self.url, headers=self.headers, max_msg_size=0) as ws:
                async for msg in ws:
                    data = json.loads(msg.data)
                    for item in data["items"]:
                        if item.get("type") == "marker":
                            if item["kind"] == "ready":
                                self.ready.set()
                            elif item["kind"] in ("skipped", "error"):
                                self.error = item["text"]
                            continue
                        self.lines += 1
                        text = item["text"]
                        if text.startswith("mark-"):
                            self.seen[text] = time.perf_counter()
                            if text in self.events:
                                self.events[text].set()
                    await ws.send_str(json.dumps({"ack": data["seq"]}))
        except Exception as exc:  # counted as an error in the report
            self.error = f"{type(exc).__name__}: {exc}"
            self.ready.set()

    async def wait_for(self, text: str, timeout: float = 300) -> float:
        if text not in self.seen:
            event = self.events.setdefault(text, asyncio.Event())
            await asyncio.wait_for(event.wait(), timeout)
        return self.seen[text]


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

    async def run(self) -> None:
        import aiohttp

        # limit=0: aiohttp allows 100 connections per session by default; we want --viewers.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            viewer = WebsocketViewer(session, self.url, self.headers)
            task = asyncio.ensure_future(viewer.run())
            await asyncio.wait_for(viewer.ready.wait(), 60)
            kubectl = KubectlFollower(self.kube, self.setup.namespace, self.setup.pod, "web")
            api = ApiFollower(self.kube["KUBECONFIG"], self.setup.namespace, self.setup.pod, "web")
            api_task = asyncio.ensure_future(api.run())
            try:
                # Until kubectl and the bench's own request are attached: both start with no tail, and
                # kwok answers a followed log request only once a line comes.
                for attempt in range(60):
                    warm = self.mark()
                    await self.append(warm)
                    await viewer.wait_for(warm)
                    try:
                        await asyncio.to_thread(kubectl.wait_for, warm, 1.0)
                        await api.wait_for(warm, 1.0)
                        break
                    except (RuntimeError, TimeoutError):
                        if attempt == 59:
                            raise
                await self.throughput(viewer, kubectl, api)
                await self.latency(viewer, kubectl, api)
            finally:
                kubectl.stop()
                task.cancel()
                api_task.cancel()
            await self.connect_milestones(session)
            await self.viewers(session)

    async def throughput(self, viewer: WebsocketViewer, kubectl: KubectlFollower, api: ApiFollower) -> None:
        n = self.args.lines
        ws_rates, kubectl_rates, api_rates = [], [], []
        for round_ in range(self.args.repeat):
            body = "\n".join(f"line {i} {PAD}" for i in range(n - 1))
            end = self.mark()
            started = time.perf_counter()
            await self.append(f"{body}\n{end}")
            ws_done = await viewer.wait_for(end, 120)
            kubectl_done = await asyncio.to_thread(kubectl.wait_for, end, 120)
            api_rates.append(n / (await api.wait_for(end, 120) - started))
            ws_rates.append(n / (ws_done - started))
            kubectl_rates.append(n / (kubectl_done - started))
            print(f"  round {round_ + 1}: websocket {ws_rates[-1]:,.0f} lines/s, "
                  f"kubectl {kubectl_rates[-1]:,.0f} lines/s")
            if viewer.error:
                print(f"  websocket error: {viewer.error}")
        ws, kc = statistics.median(ws_rates), statistics.median(kubectl_rates)
        print(f"throughput ({n:,} lines of ~100 B, median of {self.args.repeat}): websocket {ws:,.0f} lines/s, "
              f"kubectl logs -f {kc:,.0f} lines/s, ratio {ws / kc:.2f}x (goal >= 1x); a plain follow request "
              f"from the bench {statistics.median(api_rates):,.0f} lines/s")

    async def latency(self, viewer: WebsocketViewer, kubectl: KubectlFollower, api: ApiFollower) -> None:
        ws_ms, kc_ms, api_ms = [], [], []
        for _ in range(self.args.latency_samples):
            await asyncio.sleep(0.1)  # a quiet spell: each sample is a first line, not part of a burst
            text = self.mark()
            started = time.perf_counter()
            await self.append(text)
            ws_ms.append((await viewer.wait_for(text) - started) * 1000)
            api_ms.append((await api.wait_for(text) - started) * 1000)
            kc_ms.append((await asyncio.to_thread(kubectl.wait_for, text) - started) * 1000)
        ws, kc, raw = statistics.median(ws_ms), statistics.median(kc_ms), statistics.median(api_ms)
        print(f"first-line latency (median of {len(ws_ms)}): websocket {ws:.1f} ms, "
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
