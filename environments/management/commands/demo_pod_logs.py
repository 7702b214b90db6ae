"""Realistic pod logs for the demo blueprint's environments on the local cluster `make run` starts.

kwok simulates pods: they run no process and print nothing, so the logs page of a newcomer's first
environment would stay empty. `make run` (runportal) starts this command once the local cluster is
registered. It follows the environments of the demo blueprint ``shop`` (seed_demo_blueprint) on
``local`` clusters, gives each web/api/worker container its own kwok log file (through the local
stack's public helpers, as the tests do) and writes what such a process prints: a start-up banner,
then access and job lines every few seconds. Only environments in this portal's database are fed,
so pods of the test suite on the same control plane are never touched. Tests do not start it.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from clusters.kube.client import api_client as cluster_api_client
from clusters.kube.owner_labels import MANAGED_BY
from clusters.kube.pods import pods_list, pods_watch
from devstack.control_plane import api_client
from devstack.kwok_pod_logs import append_pod_log, register_pod_log
from environments.models import Environment

DEMO_BLUEPRINT = "shop"  # seed_demo_blueprint's blueprint; its components name the containers
LIVE = (Environment.PENDING, Environment.DEPLOYING, Environment.READY, Environment.FAILED)
CLIENTS = ["10.244.0.17", "10.244.1.5", "10.244.2.31", "10.244.0.42"]
AGENTS = ['"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"',
          '"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15"',
          '"kube-probe/1.33"']
PAGES = [("GET", "/", 200), ("GET", "/products", 200), ("GET", "/products/42", 200), ("GET", "/cart", 200),
         ("POST", "/cart/items", 201), ("GET", "/static/app.3f9c1e.js", 304), ("GET", "/products/999", 404),
         ("GET", "/healthz", 200)]
API_CALLS = [("GET", "/api/products", 200), ("GET", "/api/products/42", 200), ("POST", "/api/orders", 201),
             ("GET", "/api/orders/1042", 200), ("PUT", "/api/cart/7", 200), ("GET", "/api/orders/77", 404),
             ("POST", "/api/payments", 502)]
TASKS = ["shop.orders.send_confirmation", "shop.inventory.reserve", "shop.search.reindex_product",
         "shop.payments.capture"]
GREEN, YELLOW, RED, RESET = "\x1b[32m", "\x1b[33m", "\x1b[31m", "\x1b[0m"


def _now() -> datetime:
    return datetime.now(UTC)


def web_line(rng: random.Random) -> str:
    """An nginx combined-format access line, with the request time."""
    method, path, status = rng.choice(PAGES)
    agent = AGENTS[2] if path == "/healthz" else rng.choice(AGENTS[:2])
    stamp = _now().strftime("%d/%b/%Y:%H:%M:%S +0000")
    return (f'{rng.choice(CLIENTS)} - - [{stamp}] "{method} {path} HTTP/1.1" {status} {rng.randint(180, 24000)} '
            f'"-" {agent} rt={rng.uniform(0.001, 0.09):.3f}')


def api_line(rng: random.Random) -> str:
    """A uvicorn-style access line (coloured level, as a terminal would show it)."""
    method, path, status = rng.choice(API_CALLS)
    level = f"{GREEN}INFO{RESET}" if status < 400 else (f"{YELLOW}WARNING{RESET}" if status < 500
                                                          else f"{RED}ERROR{RESET}")
    reason = {200: "OK", 201: "Created", 404: "Not Found", 502: "Bad Gateway"}[status]
    return (f'{level}:     {rng.choice(CLIENTS)}:{rng.randint(32000, 60999)} - "{method} {path} HTTP/1.1" '
            f"{status} {reason} ({rng.randint(3, 240)} ms)")


def worker_line(rng: random.Random) -> str:
    """A Celery worker's task line."""
    stamp = _now().strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
    task, task_id = rng.choice(TASKS), uuid.UUID(int=rng.getrandbits(128))
    if rng.random() < 0.1:
        return f"[{stamp}: WARNING/ForkPoolWorker-{rng.randint(1, 2)}] Task {task}[{task_id}] retry: Retry in 10s"
    return (f"[{stamp}: INFO/ForkPoolWorker-{rng.randint(1, 2)}] Task {task}[{task_id}] succeeded in "
            f"{rng.uniform(0.01, 1.8):.3f}s: None")


def startup_lines(component: str, pod: str, image: str) -> list[str]:
    """What each process prints when it starts."""
    stamp = _now().strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
    return {
        "web": [f"/docker-entrypoint.sh: {image} starting nginx on port 8080",
                "/docker-entrypoint.sh: Configuration complete; ready for start up",
                f'{stamp} [notice] 1#1: nginx/1.27.3, worker processes: 2, host "{pod}"'],
        "api": [f"{GREEN}INFO{RESET}:     Started server process [1] ({image})",
                f"{GREEN}INFO{RESET}:     Waiting for application startup.",
                f"{GREEN}INFO{RESET}:     Connected to MariaDB db:3306 and Redis cache:6379",
                f"{GREEN}INFO{RESET}:     Application startup complete.",
                f"{GREEN}INFO{RESET}:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)"],
        "worker": [f"[{stamp}: INFO/MainProcess] Connected to redis://cache:6379/0",
                   f"[{stamp}: INFO/MainProcess] celery@{pod} ready ({image}).",
                   f"[{stamp}: INFO/MainProcess] Events of group {{task}} enabled by remote."],
    }[component]


LINES: dict[str, Callable[[random.Random], str]] = {"web": web_line, "api": api_line, "worker": worker_line}


class DemoLogs:
    """Feeds the demo environments' containers; ``feed_once`` is one round (idempotent registration)."""

    def __init__(self, *, rng: random.Random | None = None, kubeconfig: str | None = None,
                 logs_root: Path | None = None) -> None:
        # The local cluster's kubeconfig, as `make run` registered it (so it passes the same policy).
        self.api = cluster_api_client(Path(kubeconfig).read_text()) if kubeconfig else api_client()
        self.logs_root = logs_root
        self.rng = rng or random.Random()
        self.started: set[tuple[str, str, str]] = set()

    def _namespaces(self) -> set[str]:
        return set(Environment.objects.filter(blueprint__name=DEMO_BLUEPRINT, cluster__kind="local",
                                              status__in=LIVE).values_list("namespace", flat=True))

    @staticmethod
    def _running(pod: Any) -> list[tuple[str, str, str, str]]:
        if not pod.spec.node_name or pod.metadata.deletion_timestamp:
            return []
        return [(pod.metadata.namespace, pod.metadata.name, c.name, c.image) for c in pod.spec.containers
                if c.name in LINES]

    def containers(self) -> list[tuple[str, str, str, str]]:
        """(namespace, pod, container, image) of every running web/api/worker container of the demo."""
        found = []
        for namespace in sorted(self._namespaces()):
            for pod in pods_list(self.api, namespace, selector=f"{MANAGED_BY}=slipway"):
                found += self._running(pod)
        return found

    def _start(self, namespace: str, pod: str, container: str, image: str) -> int:
        """Register a container's log file and write its start-up lines, once; the lines written."""
        if (namespace, pod, container) in self.started:
            return 0
        register_pod_log(namespace, pod, container, client=self.api, logs_root=self.logs_root)
        lines = startup_lines(container, pod, image)
        append_pod_log(namespace, pod, container, "\n".join(lines), client=self.api, logs_root=self.logs_root)
        self.started.add((namespace, pod, container))
        return len(lines)

    def feed_once(self) -> int:
        """Register and start new containers' logs, then add one line to each; returns the lines written."""
        written = 0
        for namespace, pod, container, image in self.containers():
            written += self._start(namespace, pod, container, image)
            append_pod_log(namespace, pod, container, LINES[container](self.rng), client=self.api,
                           logs_root=self.logs_root)
            written += 1
        return written

    def start_new(self, seconds: float) -> int:
        """Watch for ``seconds``, starting each demo container's log as soon as its pod is bound.

        A log stream opened before a container's file is registered follows kwok's empty default and
        never switches, so a person opening the logs page right after "ready" saw nothing; registering
        on the pod's own event (not at the next round) closes that gap.
        """
        written = 0
        namespaces = self._namespaces()
        for kind, pod in pods_watch(self.api, selector=f"{MANAGED_BY}=slipway", seconds=seconds):
            if kind == "DELETED":
                continue
            if pod.metadata.namespace not in namespaces:
                namespaces = self._namespaces()  # an environment created since the watch began
            if pod.metadata.namespace in namespaces:
                for container in self._running(pod):
                    written += self._start(*container)
        return written


class Command(BaseCommand):
    help = ("Give the demo blueprint's pods on the local kwok cluster realistic logs, until stopped "
            "(`make run` starts it).")

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=3.0, help="seconds between rounds")
        parser.add_argument("--once", action="store_true", help="one round, then exit")
        parser.add_argument("--kubeconfig", help="the cluster's kubeconfig; default: the local stack's cluster")
        parser.add_argument("--logs-dir", type=Path, help="where its kwok reads pod log files; default: the stack's")

    def handle(self, *args, interval: float, once: bool, kubeconfig: str | None, logs_dir: Path | None, **options):
        # Never exits on an error: `make run` stops everything when one of its children ends.
        feeder = None
        while True:
            try:
                feeder = feeder or DemoLogs(kubeconfig=kubeconfig, logs_root=logs_dir)
                feeder.feed_once()
            except Exception as exc:  # the API server restarting, a namespace being deleted: try again
                self.stderr.write(f"demo pod logs: {exc}")
            if once:
                return
            try:
                feeder.start_new(interval)
            except Exception as exc:
                self.stderr.write(f"demo pod logs: {exc}")
                time.sleep(interval)
