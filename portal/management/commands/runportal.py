"""`make run`: the web server, a Celery worker and beat, plus local Redis and moto when available."""

from __future__ import annotations

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

REDIS_PORT = 6390
MOTO_PORT = 5055


class Command(BaseCommand):
    help = "Run Slipway locally: migrate, demo admin, daphne, Celery worker and beat; Ctrl-C stops all."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("SLIPWAY_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("SLIPWAY_PORT", "8000")))
        parser.add_argument("--no-cluster", action="store_true", help="do not start the local Kubernetes cluster")

    def handle(self, *args, host: str, port: int, no_cluster: bool, **options):
        global port_open, wait_for_port
        # The stack helpers live with the test stack, which `make run` shares; imported late so
        # an image without tests/ can still run every other command.
        from tests.stack.process import port_open, wait_for_port

        self.children: list[subprocess.Popen] = []
        self.stopping = False
        env = dict(os.environ)
        var = Path(settings.VAR_DIR)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("ensure_demo_admin")
        call_command("seed_demo_blueprint")
        env.update(self._redis(env, var))
        env.update(self._moto(env, var))
        python = sys.executable
        self._spawn("web", [python, "-m", "daphne", "-b", host, "-p", str(port), "portal.asgi:application"], env)
        self._spawn("worker", [python, "-m", "celery", "-A", "portal", "worker", "-l", "info", "--concurrency", "2",
                               "--without-gossip", "--without-mingle"], env)
        self._spawn("beat", [python, "-m", "celery", "-A", "portal", "beat", "-l", "info",
                             "--schedule", str(var / "celerybeat-schedule")], env)
        if not no_cluster:
            threading.Thread(target=self._cluster, args=(env,), daemon=True).start()
        wait_for_port(port, name="web server", timeout=60)
        self.stdout.write(self.style.SUCCESS(f"\n  Slipway is running at http://{host}:{port}/  (Ctrl-C stops it)\n"))
        signal.signal(signal.SIGTERM, lambda *_: self._stop())
        try:
            while not self.stopping:
                for child in self.children:
                    if child.poll() is not None:
                        self.stderr.write(f"{child.args[2]} exited with {child.returncode}; stopping")
                        self._stop()
                        return
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        self._stop()

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.children.append(subprocess.Popen(argv, env=env, start_new_session=True))

    def _stop(self) -> None:
        if self.stopping and not self.children:
            return
        self.stopping = True
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
        self.stdout.write("stopped.")

    def _redis(self, env: dict[str, str], var: Path) -> dict[str, str]:
        if env.get("REDIS_URL"):
            return {}
        binary = shutil.which("redis-server")
        if binary is None:
            self.stdout.write("Redis not found: Celery uses the filesystem transport and websockets the in-memory "
                              "layer (live updates then arrive by database polling).")
            return {}
        if not port_open(REDIS_PORT):
            (var / "redis").mkdir(exist_ok=True)
            self._spawn("redis", [binary, "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--dir", str(var / "redis"),
                                  "--save", "", "--appendonly", "no"], env)
            wait_for_port(REDIS_PORT, name="redis")
        return {"REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0"}

    def _moto(self, env: dict[str, str], var: Path) -> dict[str, str]:
        if env.get("AWS_ENDPOINT_URL"):
            return {}
        binary = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
        if not os.access(binary, os.X_OK):
            self.stdout.write("moto_server not found: AWS calls go to real AWS unless AWS_ENDPOINT_URL is set.")
            return {}
        if not port_open(MOTO_PORT):
            self._spawn("moto", [binary, "-H", "127.0.0.1", "-p", str(MOTO_PORT)], env)
            wait_for_port(MOTO_PORT, name="moto")
        return {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{MOTO_PORT}", "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": env.get("AWS_DEFAULT_REGION", "us-east-1")}

    def _cluster(self, env: dict[str, str]) -> None:
        """Bring up the local control plane in the background (the first run builds it)."""
        if shutil.which("go") is None and not Path.home().joinpath(".cache/slipway/bin").exists():
            self.stdout.write("No Go toolchain: the local Kubernetes cluster cannot be built here. "
                              "Register an existing cluster (kind, minikube, EKS) by kubeconfig instead.")
            return
        self.stdout.write("Starting the local Kubernetes control plane in the background "
                          "(the first run builds it from source; see README)…")
        result = subprocess.run([sys.executable, "-m", "tests.stack", "up", "kube"], env=env,
                                cwd=settings.BASE_DIR, capture_output=True, text=True)
        if result.returncode != 0:
            self.stdout.write(f"Local cluster unavailable:\n{result.stderr[-1500:]}")
            return
        self.stdout.write("Local Kubernetes cluster is up.")
        call_command("register_local_cluster")
        # kwok's pods print nothing: give the demo blueprint's pods realistic logs (until Ctrl-C).
        self._spawn("demo-logs", [sys.executable, str(settings.BASE_DIR / "manage.py"), "demo_pod_logs"], env)
