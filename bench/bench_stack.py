"""The benchmarks' Slipway: a fresh database on the stack's PostgreSQL, a web process (daphne), a Celery
worker and Celery beat over a Redis database of the stack's Redis, and an HTTP client for the API with a
token — the path a user's click takes (HTTP → web → Redis → worker → Kubernetes). The chaos and the
sleep benchmarks both run on it (``bench_slipway``).

Process metrics come from /proc (psutil is not installed): CPU seconds and peak resident memory
(VmHWM, the kernel's own high-water mark) of the worker's whole process tree.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from devstack.control_plane import Kube, KwokCluster
from devstack.daemons import Postgres, Redis
from devstack.process import Context

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "var" / "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], Any], *, timeout: float, what: str, every: float = 0.2) -> Any:
    """``predicate()``'s first truthy value; RuntimeError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


# -- the database ---------------------------------------------------------------------------------

def migrated_template(admin_url: str) -> str:
    """A database migrated to this code's migrations, made once per set of migrations and kept on the
    stack's PostgreSQL as a template (older ones are dropped): migrating a fresh database takes 10-20 s,
    copying a template a fraction of a second, so the benchmarks' smoke runs stay short."""
    import psycopg

    files = sorted(p for p in ROOT.glob("**/migrations/*.py") if ".venv" not in p.parts)
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()[:12]
    template = f"bench_template_{digest}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext('slipway-bench-template'))")  # two benches at once
        try:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (template,)).fetchone():
                return template
            stale = conn.execute(r"SELECT datname FROM pg_database WHERE datname LIKE 'bench\_template\_%'")
            for (old,) in stale.fetchall():
                conn.execute(f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)')
            building = f"{template}_building"
            conn.execute(f'CREATE DATABASE "{building}"')
            env = {**os.environ, "DATABASE_URL": admin_url.rsplit("/", 1)[0] + f"/{building}",
                   "DJANGO_SETTINGS_MODULE": "portal.settings"}
            proc = subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=env,
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                conn.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
                raise RuntimeError(f"migrating the benchmarks' template failed: {proc.stderr[-2000:]}")
            conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{template}"')
            return template
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext('slipway-bench-template'))")


def create_bench_database(admin_url: str, name: str) -> str:
    """Database ``name``, migrated (a copy of ``migrated_template``); returns its URL."""
    import psycopg

    template = migrated_template(admin_url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


# -- processes -------------------------------------------------------------------------------------

class Processes:
    """daphne, the Celery worker and beat, started with the same environment; stopped by pid at the end."""

    def __init__(self, env: dict[str, str], *, concurrency: int, var_dir: Path, pool: str = "threads") -> None:
        self.env, self.concurrency, self.var_dir, self.pool = env, concurrency, var_dir, pool
        self.started: dict[str, subprocess.Popen] = {}
        LOGS.mkdir(parents=True, exist_ok=True)

    def _start(self, name: str, command: list[str]) -> subprocess.Popen:
        log = open(LOGS / f"chaos-{name}.log", "w")  # the child keeps it open
        proc = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.started[name] = proc
        return proc

    def start_web(self) -> str:
        port = free_port()
        self._start("web", [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                            "portal.asgi:application"])

        def up() -> bool:
            self.check_alive()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return True
            except OSError:
                return False

        wait_until(up, timeout=60, what="daphne to listen (var/bench/chaos-web.log)")
        return f"http://127.0.0.1:{port}"

    def start_worker(self) -> subprocess.Popen:
        # The compose file's and the chart's worker (threads by default), pool and concurrency explicit so runs
        # are comparable.
        return self._start("worker", [sys.executable, "-m", "celery", "-A", "portal", "worker", "-l", "info",
                                      "--pool", self.pool, "--concurrency", str(self.concurrency), "--without-gossip",
                                      "--without-mingle", "-n", f"chaos-bench-{os.getpid()}@%h"])

    def start_beat(self) -> subprocess.Popen:
        schedule = self.var_dir / "celerybeat-schedule"
        return self._start("beat", [sys.executable, "-m", "celery", "-A", "portal", "beat", "-l", "info",
                                    "--schedule", str(schedule)])

    def check_alive(self) -> None:
        for name, proc in self.started.items():
            if proc.poll() is not None:
                raise RuntimeError(f"the {name} process exited with {proc.returncode} (var/bench/chaos-{name}.log)")

    def stop(self) -> None:
        for proc in self.started.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)  # its own session: the worker's pool children too
        for proc in self.started.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


# -- process metrics -------------------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return kids


def process_tree(pid: int) -> list[int]:
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += _children(current)
    return tree


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (its own threads; reaped children are counted by the caller's tree walk)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_kib(pid: int) -> int:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmHWM:"):
            return int(row.split()[1])
    return 0


def pss_kib(pid: int) -> int:
    """Proportional set size: pages shared by the pool's forked processes counted once in a sum."""
    for row in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if row.startswith("Pss:"):
            return int(row.split()[1])
    return 0


@dataclass
class TreeMetrics:
    """CPU seconds and peak RSS of a process tree, sampled: pids that come and go are kept."""

    root: int
    cpu: dict[int, float] = field(default_factory=dict)
    peak: dict[int, int] = field(default_factory=dict)

    def sample(self) -> None:
        for pid in process_tree(self.root):
            try:
                self.cpu[pid] = cpu_seconds(pid)
                self.peak[pid] = max(self.peak.get(pid, 0), peak_rss_kib(pid))
            except (OSError, IndexError):
                pass  # exited between the walk and the read

    @property
    def cpu_total(self) -> float:
        return sum(self.cpu.values())

    @property
    def peak_total_mib(self) -> float:
        """Sum of each process's peak (an upper bound of the tree's peak at any one moment)."""
        return sum(self.peak.values()) / 1024

    def pss_now_mib(self) -> float:
        """The tree's memory now, shared pages counted once."""
        total = 0
        for pid in process_tree(self.root):
            try:
                total += pss_kib(pid)
            except OSError:
                pass
        return total / 1024

    @property
    def peak_max_mib(self) -> float:
        return max(self.peak.values(), default=0) / 1024


# -- the HTTP API ----------------------------------------------------------------------------------

class ApiError(RuntimeError):
    pass


class Api:
    """The REST API over HTTP with ``Authorization: Token``; a non-2xx answer raises ApiError with its body."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Token {token}", "Accept": "application/json"})

    def call(self, method: str, path: str, body: Any = None, *, ok: tuple[int, ...] = (200, 201, 202, 204)) -> Any:
        response = self.session.request(method, self.base + path, json=body, timeout=60)
        if response.status_code not in ok:
            raise ApiError(f"{method} {path}: HTTP {response.status_code}: {response.text[:400]}")
        return response.json() if response.content else None

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def post(self, path: str, body: Any = None) -> Any:
        return self.call("POST", path, body if body is not None else {})

    def patch(self, path: str, body: Any) -> Any:
        return self.call("PATCH", path, body)

    def all_pages(self, path: str) -> list[dict]:
        items, url = [], path
        while url:
            page = self.get(url)
            if isinstance(page, list):
                return page
            items += page["results"]
            url = page.get("next")
            if url and url.startswith(self.base):
                url = url[len(self.base):]
        return items


@dataclass
class BenchSlipway:
    """What ``bench_slipway`` started: the control plane's facts, the processes, and the clean-ups to run
    (after the processes stop, before the database is dropped)."""

    kube: dict[str, str]
    processes: Processes
    cleanups: list[Callable[[], None]] = field(default_factory=list)


@contextmanager
def bench_slipway(prefix: str, *, redis_db: int, concurrency: int, pool: str = "threads") -> Iterator[BenchSlipway]:
    """Slipway on the stack for one benchmark run, torn down afterwards even on failure: a fresh, migrated
    database ``<prefix>_<random>`` (dropped), Redis database ``redis_db`` (emptied), and the web/worker/beat
    processes. The process environment is pointed at them, so Django may be set up inside the block."""
    import psycopg
    import redis

    ctx = Context.default()
    admin_url = Postgres().up(ctx)["POSTGRES_URL"]
    redis_url = f"{Redis().up(ctx)['REDIS_URL']}/{redis_db}"
    # The running control plane as it is (``up`` would also re-seed its nodes under other users' feet).
    kube = Kube().facts(ctx) if KwokCluster.stack(ctx).running() else Kube().up(ctx)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    database_url = create_bench_database(admin_url, name)
    var_dir = LOGS / name
    var_dir.mkdir(parents=True, exist_ok=True)
    os.environ.update(DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="portal.settings",
                      SLIPWAY_VAR_DIR=str(var_dir), REDIS_URL=redis_url, DEBUG="false")
    os.environ.pop("CELERY_TASK_ALWAYS_EAGER", None)
    started = BenchSlipway(kube, Processes(dict(os.environ), concurrency=concurrency, var_dir=var_dir,
                                                      pool=pool))
    try:
        yield started
    finally:
        started.processes.stop()
        for cleanup in started.cleanups:
            cleanup()
        if "django" in sys.modules:  # Django was set up inside the block: its connections hold the database
            from django.db import connections

            connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        redis.Redis.from_url(redis_url).flushdb()
        shutil.rmtree(var_dir, ignore_errors=True)
