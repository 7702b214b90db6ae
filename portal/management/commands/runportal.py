"""`make run`: the embedded default — web, Celery worker and beat, and every local server they use.

Started here, each on its own port with its data under ``var/`` so it survives a restart: Redis
(broker, channel layer, environments' Redis stores; append-only file), MariaDB (environments'
databases), a moto server that keeps its state (Terraform state, environments' S3 buckets, Route 53)
and a local Kubernetes control plane (built from source on the first run, in the background).
Ctrl-C stops all of them, the local control planes that Terraform runs started included; the next
`make run` resumes them with what they held.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from clusters.health import cluster_check_health
from clusters.local_status import local_cluster_start_tracked
from clusters.models import Cluster
from devstack.control_plane import binaries
from devstack.daemons import MariaDB, Moto, Redis
from devstack.process import Context, StackError, wait_for_port
from portal.audit.actor import Actor

PORTS = {
    "redis": int(os.environ.get("SLIPWAY_RUN_REDIS_PORT", "6390")),
    "mariadb": int(os.environ.get("SLIPWAY_RUN_MARIADB_PORT", "3390")),
    "moto": int(os.environ.get("SLIPWAY_RUN_MOTO_PORT", "5055")),
    "kube": int(os.environ.get("SLIPWAY_RUN_KUBE_PORT", "7443")),
}
KUBE_NAME = "slipway-run"
LOCAL_AWS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
WHAT_NEEDS = {
    "redis": "Celery falls back to its filesystem transport and live pages to database polling; "
             "environments get in-cluster Redis instead of a database on the shared server",
    "mariadb": "environments get the blueprint's in-cluster MariaDB instead of a database on the shared server, "
               "and data copies of MariaDB have nothing to copy into",
    "moto": "Terraform runs, S3 stores, Route 53 hostnames and log history need AWS_ENDPOINT_URL or real AWS",
}


class Command(BaseCommand):
    help = "Run Slipway locally: migrate, demo admin, local servers, daphne, Celery worker and beat; Ctrl-C stops all."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("SLIPWAY_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("SLIPWAY_PORT", "8000")))
        parser.add_argument("--no-cluster", action="store_true", help="do not start the local Kubernetes cluster")

    def handle(self, *args, host: str, port: int, no_cluster: bool, **options):
        self.children: list[subprocess.Popen] = []
        self.stopping = False
        self.var = Path(settings.VAR_DIR)
        self.ctx = Context(root=self.var / "stack")
        self.ctx.root.mkdir(parents=True, exist_ok=True)
        self.daemons: list = []
        env = dict(os.environ)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("ensure_demo_admin")
        call_command("seed_demo_blueprint", verbosity=0)
        facts = self._servers(env)
        self._save_facts(facts)
        env.update(facts)
        # A newcomer's terminal shows what they can act on: no banners, INFO chatter or the warning that
        # the worker runs as root (a machine's own user, as `make run` is meant to be used).
        env.setdefault("LOG_LEVEL", "WARNING")
        env.setdefault("PYTHONWARNINGS", "ignore:You're running the worker with superuser privileges")
        python = sys.executable
        self._spawn([python, "-m", "daphne", "-v", "0", "-b", host, "-p", str(port), "portal.asgi:application"], env)
        self._spawn([python, "-m", "celery", "-A", "portal", "--quiet", "worker", "-l", "warning",
                     "--pool", "threads", "--concurrency", "8", "--without-gossip", "--without-mingle"], env)
        self._spawn([python, "-m", "celery", "-A", "portal", "--quiet", "beat", "-l", "warning",
                     "--schedule", str(self.var / "celerybeat-schedule")], env)
        signal.signal(signal.SIGTERM, lambda *_: self._stop())
        # Started in the background by a shell, SIGINT arrives ignored; Ctrl-C (or `kill -INT`) must stop all.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            if not no_cluster:
                threading.Thread(target=local_cluster_start_tracked(self._clusters), args=(env,), daemon=True).start()
            wait_for_port(port, name="web server", timeout=60)
            self.stdout.write(self.style.SUCCESS(f"\n  Slipway is running at http://{host}:{port}/  "
                                                 "(Ctrl-C stops it)\n"))
            self._watch()
        except KeyboardInterrupt:
            pass
        self._stop()

    def _watch(self) -> None:
        while not self.stopping:
            for child in self.children:
                if child.poll() is not None:
                    self.stderr.write(f"{child.args[2]} exited with {child.returncode}; stopping")
                    return
            time.sleep(0.5)

    def _spawn(self, argv: list[str], env: dict[str, str]) -> None:
        self.children.append(subprocess.Popen(argv, env=env, start_new_session=True))

    # --- local servers ---------------------------------------------------------------------------

    def _servers(self, env: dict[str, str]) -> dict[str, str]:
        """Start Redis, MariaDB and moto unless configured elsewhere; the facts of those that run."""
        wanted = []
        if not env.get("REDIS_URL"):
            wanted.append(Redis(PORTS["redis"], persistent=True))
        wanted.append(MariaDB(PORTS["mariadb"]))
        if not env.get("AWS_ENDPOINT_URL"):
            wanted.append(Moto(PORTS["moto"], state_file=self.var / "stack" / "moto" / "state.pickle"))
        facts = {k: env[k] for k in ("REDIS_URL", "AWS_ENDPOINT_URL") if env.get(k)}
        for daemon in wanted:
            try:
                facts.update(daemon.up(self.ctx))
            except (StackError, OSError, subprocess.CalledProcessError) as exc:
                self.stdout.write(self.style.WARNING(f"{daemon.name} could not start ({str(exc).splitlines()[0]}): "
                                                     f"{WHAT_NEEDS[daemon.name]}."))
                continue
            self.daemons.append(daemon)
        if "AWS_ENDPOINT_URL" in facts and not env.get("AWS_ACCESS_KEY_ID"):
            facts.update(LOCAL_AWS, AWS_DEFAULT_REGION=env.get("AWS_DEFAULT_REGION", "us-east-1"))
        if "REDIS_URL" in facts:
            facts["REDIS_URL"] = facts["REDIS_URL"].rstrip("/") + "/0"
        started = ", ".join(f"{d.name} 127.0.0.1:{d.port}" for d in self.daemons)
        self.stdout.write(f"Local servers: {started or 'none'} (data in {self.ctx.root})")
        return facts

    def _save_facts(self, facts: dict[str, str]) -> None:
        path = self.ctx.root / "facts.json"
        path.write_text(json.dumps(facts, indent=2, sort_keys=True))
        path.chmod(0o600)

    # --- local Kubernetes control planes ---------------------------------------------------------

    def _kube(self, command: str, name: str, port: int, directory: Path,
              env: dict[str, str]) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "devstack.control_plane", command, "--name", name,
                               "--port", str(port), "--dir", str(directory)],
                              env=env, cwd=settings.BASE_DIR, capture_output=True, text=True)

    def _terraform_local_clusters(self) -> list[tuple[str, int, Path]]:
        """The control planes Terraform runs started (the ``local`` blueprint), as the blueprint names them."""
        made = Cluster.objects.filter(kind=Cluster.LOCAL, managed_by_terraform=True).exclude(status=Cluster.DESTROYED)
        return [(c.name, int(c.terraform_vars["api_port"]), Path(settings.SLIPWAY_LOCAL_CLUSTERS_DIR) / c.name)
                for c in made if (c.terraform_vars or {}).get("api_port")]

    def _clusters(self, env: dict[str, str]) -> None:
        """Bring up (or resume) the local control plane in the background, then the Terraform-made ones."""
        if shutil.which("go") is None and not Path.home().joinpath(".cache/slipway/bin").exists():
            self.stdout.write("No Go toolchain: the local Kubernetes cluster cannot be built here. "
                              "Register an existing cluster (kind, minikube, EKS) by kubeconfig on the Clusters page.")
            return
        directory = self.var / "kube"
        self.stdout.write(self._cluster_start_message(directory))
        result = self._kube("up", KUBE_NAME, PORTS["kube"], directory, env)
        if self.stopping:
            return
        if result.returncode != 0:
            self.stdout.write(f"Local cluster unavailable:\n{result.stderr[-1500:]}")
            return
        kubeconfig = result.stdout.strip().splitlines()[-1]
        self.stdout.write("Local Kubernetes cluster is up.")
        facts = self.ctx.root / "facts.json"
        try:
            call_command("register_local_cluster", kubeconfig=kubeconfig, facts=facts)
            call_command("register_local_data_servers", facts=facts)
        except Exception as exc:
            # Said in one line the newcomer can act on, not as a thread's traceback.
            self.stdout.write(self.style.ERROR(f"The local cluster is up but could not be registered: {exc}. "
                                               f"Register it by hand: python manage.py register_local_cluster "
                                               f"--kubeconfig {kubeconfig} --facts {facts}"))
            return  # the pages then say the local cluster failed (clusters.local_status)
        # kwok's pods print nothing: give the demo blueprint's pods realistic logs (until Ctrl-C).
        self._spawn([sys.executable, str(settings.BASE_DIR / "manage.py"), "demo_pod_logs", "--kubeconfig", kubeconfig,
                     "--logs-dir", str(directory / "logs")], env)
        for name, port, path in self._terraform_local_clusters():
            if self.stopping:
                return
            if (path / "clusters" / name).exists():
                resumed = self._kube("up", name, port, path, env)
                self.stdout.write(f"Local cluster {name} (Terraform) resumed." if resumed.returncode == 0 else
                                  f"Local cluster {name} could not be resumed: {resumed.stderr[-500:]}")
                self._check_health(name)

    def _cluster_start_message(self, directory: Path) -> str:
        if (directory / "clusters" / KUBE_NAME).exists():
            return "Resuming the local Kubernetes control plane in the background…"
        if not all(path.exists() for path in binaries().values()):
            return ("Building and starting the local Kubernetes control plane in the background (the first run "
                    "builds it from source: about 15 minutes; the Clusters page says when it is ready)…")
        return "Starting the local Kubernetes control plane in the background (about a minute)…"

    def _check_health(self, name: str) -> None:
        """Check a resumed cluster at once, so its page does not say unreachable until the next periodic check."""
        cluster_check_health(actor=Actor.system("make-run"), cluster=Cluster.objects.get(name=name))

    # --- stopping ----------------------------------------------------------------------------------

    def _stop(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        # A second Ctrl-C must not cut the shutdown short and leave servers or clusters behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.stdout.write("stopping…")
        for child in self.children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in self.children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
        self.children = []
        env = dict(os.environ)
        # Stopped, not deleted: their etcd data is what the environments in them are.
        for name, port, path in [*self._terraform_local_clusters(), (KUBE_NAME, PORTS["kube"], self.var / "kube")]:
            if (path / "clusters" / name).exists():
                self._kube("stop", name, port, path, env)
        for daemon in reversed(self.daemons):
            daemon.down(self.ctx)
        self.stdout.write("stopped: web, worker, beat, local clusters and servers.")
