"""A real local Kubernetes control plane with simulated nodes (kwok), for the tests and `make run`.

kwokctl's *binary* runtime runs etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
kwok-controller as local processes, from binaries that build-kube.sh compiled into the cache
(~/.cache/slipway/bin); nothing is downloaded when the cluster starts. The API server, admission
(ResourceQuota, ServiceAccount, ...), the scheduler and the controllers are the real ones; kwok
only stands in for the kubelets: it marks the fake nodes Ready, moves scheduled pods to
Running/Ready and serves `kubectl logs` from CRI-format files (see devstack/kwok_pod_logs.py).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes import config
from kubernetes.client import ApiClient
from kubernetes.client.rest import ApiException

from .process import Context, StackError, port_open, say

HERE = Path(__file__).parent
BUILD_SCRIPT = HERE / "build-kube.sh"
KWOKCTL_CONFIG = HERE / "kwok" / "kwokctl.yaml"
KWOK_STAGES = HERE / "kwok" / "stages.yaml"  # the whole stage set (kwok's defaults plus chaos behaviour)
NODES_MANIFEST = HERE / "kwok" / "nodes.yaml"

CLUSTER = "slipway"
KUBE_PORT = int(os.environ.get("SLIPWAY_STACK_KUBE_PORT", "56443"))
KWOK_GROUP, KWOK_VERSION = "kwok.x-k8s.io", "v1alpha1"
DEFAULT_CLUSTER_LOGS = "slipway-default"


def pinned_version(var: str) -> str:
    """The version build-kube.sh pins for ``var`` (``KUBE_VERSION``, ``ETCD_VERSION``, ``KWOK_VERSION``)."""
    # The versions are pinned once, in build-kube.sh; like the script, honour an env override.
    match = re.search(rf'^{var}="\$\{{{var}:-([^}}]+)\}}"', BUILD_SCRIPT.read_text(), re.MULTILINE)
    if match is None:
        raise StackError(f"cannot find the default {var} in {BUILD_SCRIPT}")
    return os.environ.get(var) or match.group(1)


def _bin_dir() -> Path:
    return Path(os.environ.get("SLIPWAY_CACHE", Path.home() / ".cache" / "slipway")) / "bin"


def binaries() -> dict[str, Path]:
    """Where build-kube.sh puts each binary of the control plane (the same layout the script uses)."""
    bindir = _bin_dir()
    kube, etcd, kwok = (bindir / f"{c}-{pinned_version(v)}" for c, v in
                        (("kube", "KUBE_VERSION"), ("etcd", "ETCD_VERSION"), ("kwok", "KWOK_VERSION")))
    return {"kube-apiserver": kube / "kube-apiserver", "kube-controller-manager": kube / "kube-controller-manager",
            "kube-scheduler": kube / "kube-scheduler", "kubectl": kube / "kubectl", "etcd": etcd / "etcd",
            "kwok": kwok / "kwok",
            "kwokctl": kwok / "kwokctl"}


def _ensure_binaries() -> dict[str, Path]:
    bins = binaries()
    missing = [name for name, path in bins.items() if not os.access(path, os.X_OK)]
    if missing:
        say(f"kube: building {', '.join(missing)} with build-kube.sh (first run only; 15-30 min on 2 cores)")
        # Output goes to our stderr so a long build shows progress instead of looking hung.
        rc = subprocess.run([str(BUILD_SCRIPT), "all"], stdout=2, stderr=2).returncode
        if rc != 0:
            raise StackError(f"kube: {BUILD_SCRIPT.name} failed with exit code {rc} (output above)")
    return bins


def helm_binary() -> Path:
    """Where build-kube.sh puts helm: not part of the control plane, the chart's tests (docker/helm/slipway/) use it."""
    return _bin_dir() / f"helm-{pinned_version('HELM_VERSION')}" / "helm"


def _ensure_helm() -> Path:
    """Build helm if it is missing (a few minutes, once; cached afterwards)."""
    helm = helm_binary()
    if not os.access(helm, os.X_OK):
        say("kube: building helm with build-kube.sh (first run only; a few minutes)")
        rc = subprocess.run([str(BUILD_SCRIPT), "helm"], stdout=2, stderr=2).returncode
        if rc != 0:
            raise StackError(f"kube: {BUILD_SCRIPT.name} helm failed with exit code {rc} (output above)")
    return helm


def workdir(ctx: Context) -> Path:
    """KWOK_WORKDIR: kwokctl keeps cluster state, pki, pids and component logs here."""
    return ctx.dir("kwok")


def logs_dir(ctx: Context) -> Path:
    """Root of the CRI-format pod log files that kwok serves (SLIPWAY_KWOK_LOGS_DIR)."""
    return ctx.dir("kwok-logs")


def api_client(ctx: Context | None = None) -> ApiClient:
    """A kubernetes ApiClient for the stack's cluster (the Python client is imported lazily)."""
    return KwokCluster.stack(ctx or Context.default()).api_client()


def wait_until(what: str, probe: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = probe()
            if result:
                return result
            error: Exception | None = None
        except Exception as exc:  # any failure means "not yet"; reported on timeout
            error = exc
        if time.monotonic() > deadline:
            raise StackError(f"kube: {what} not ready after {timeout:.0f}s (last error: {error})")
        time.sleep(0.2)


@dataclass(frozen=True)
class KwokCluster:
    """One kwokctl cluster (binary runtime): the stack's shared ``slipway`` or another one by name.

    Slipway's ``local`` Terraform blueprint starts one of these per Slipway cluster, each on its
    own port and in its own work directory, so it never touches the shared test-stack cluster.
    """

    name: str
    port: int
    workdir: Path
    logs_root: Path
    log: Path

    @classmethod
    def stack(cls, ctx: Context) -> KwokCluster:
        return cls(name=CLUSTER, port=KUBE_PORT, workdir=workdir(ctx), logs_root=logs_dir(ctx),
                   log=ctx.logfile("kube"))

    @classmethod
    def standalone(cls, name: str, port: int, root: Path) -> KwokCluster:
        """A cluster whose whole state (pki, etcd, pids, logs) lives under ``root``."""
        root.mkdir(parents=True, exist_ok=True)
        (root / "logs").mkdir(exist_ok=True)
        return cls(name=name, port=port, workdir=root, logs_root=root / "logs", log=root / "kwokctl.log")

    @property
    def cluster_dir(self) -> Path:
        return self.workdir / "clusters" / self.name

    @property
    def kubeconfig_file(self) -> Path:
        return self.workdir / f"{self.name}.kubeconfig"

    def kwokctl(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        # Inherited KWOK_* variables would override our config file (kwok reads env after files).
        env = {k: v for k, v in os.environ.items() if not k.startswith("KWOK_")}
        env.update(KWOK_WORKDIR=str(self.workdir), KWOK_KUBE_VERSION=pinned_version("KUBE_VERSION"))
        try:
            return subprocess.run([str(binaries()["kwokctl"]), "--name", self.name, *args], env=env, text=True,
                                  capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise StackError(f"kube: kwokctl {' '.join(args[:2])} did not finish within {timeout:.0f}s") from exc

    def _log_run(self, proc: subprocess.CompletedProcess[str]) -> None:
        with self.log.open("a") as log:
            log.write(f"$ {' '.join(map(str, proc.args))}\n{proc.stdout}{proc.stderr}\n")

    def ours(self, pid: int) -> bool:
        # Components run with our cluster directory in their arguments; a recycled pid would not.
        try:
            return str(self.cluster_dir).encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False

    def component_pids(self) -> dict[str, int]:
        """Pids of the components kwokctl started for this cluster, from its pid files."""
        pids = {}
        for pidfile in (self.cluster_dir / "pids").glob("*.pid"):
            try:
                pids[pidfile.stem] = int(pidfile.read_text().strip())
            except (ValueError, OSError):
                continue
        return pids

    def apiserver_alive(self) -> bool:
        pid = self.component_pids().get("kube-apiserver")
        return pid is not None and self.ours(pid)

    def running(self) -> bool:
        return self.apiserver_alive() and port_open(self.port) and self.kubeconfig_file.exists()

    def api_client(self) -> ApiClient:
        return config.new_client_from_config(config_file=str(self.kubeconfig_file))

    def create(self) -> None:
        """Start the cluster (recreating a leftover one) and seed its nodes. Raises StackError."""
        _raise_inotify_limit()
        if port_open(self.port) and not self.apiserver_alive():
            raise StackError(f"kube: port {self.port} is in use by something else; choose another port")
        bins = _ensure_binaries()
        # A cluster left over from a crash or reboot is recreated, not resumed: its saved config
        # may name another port or binary version, and its etcd data has no value to tests.
        if self.cluster_dir.exists():
            self.delete()
        say(f"kube: starting kwok cluster {self.name!r} on https://127.0.0.1:{self.port}")
        # kwokctl sometimes fails while the fresh API server is still settling ("failed to init
        # crds: resource not handled"); a second attempt from scratch succeeds.
        for attempt in (1, 2):
            proc = self._kwokctl_create(bins)
            self._log_run(proc)
            if proc.returncode == 0 or attempt == 2:
                break
            say(f"kube: kwokctl create cluster failed (exit {proc.returncode}); retrying once")
            self.delete()
            self.release_port()
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr)[-3000:]
            self.delete()
            raise StackError(f"kube: kwokctl create cluster failed (exit {proc.returncode}):\n{tail}")
        kubeconfig = self.kwokctl("get", "kubeconfig")
        if kubeconfig.returncode != 0:
            raise StackError(f"kube: kwokctl get kubeconfig failed: {kubeconfig.stderr}")
        self.kubeconfig_file.write_text(kubeconfig.stdout)
        self.kubeconfig_file.chmod(0o600)
        self.seed()

    def _kwokctl_create(self, bins: dict[str, Path]) -> subprocess.CompletedProcess[str]:
        return self.kwokctl(
            "create", "cluster", "--runtime", "binary", "-c", str(KWOKCTL_CONFIG), "-c", str(KWOK_STAGES),
            "--kube-apiserver-port", str(self.port),
            "--kubeconfig", "",  # never touch ~/.kube/config; we write our own file below
            "--etcd-binary", str(bins["etcd"]), "--kube-apiserver-binary", str(bins["kube-apiserver"]),
            "--kube-controller-manager-binary", str(bins["kube-controller-manager"]),
            "--kube-scheduler-binary", str(bins["kube-scheduler"]),
            "--kwok-controller-binary", str(bins["kwok"]),
            "--wait", "60s", "--timeout", "120s",
        )

    def seed(self) -> None:
        """Create the fake nodes and the default ClusterLogs if missing (idempotent)."""

        client = self.api_client()
        try:
            core, custom = k8s.CoreV1Api(client), k8s.CustomObjectsApi(client)
            wait_until("apiserver", lambda: core.list_namespace(limit=1) is not None, 180)
            nodes = yaml.safe_load(NODES_MANIFEST.read_text())["items"]
            for node in nodes:
                try:
                    core.create_node(node)
                except ApiException as exc:
                    if exc.status != 409:
                        raise
            # Pods without a registered log file get this (empty) one, like a container that prints nothing.
            self.logs_root.mkdir(parents=True, exist_ok=True)
            default_log = self.logs_root / "default.log"
            default_log.touch()
            body = {"apiVersion": f"{KWOK_GROUP}/{KWOK_VERSION}", "kind": "ClusterLogs",
                    "metadata": {"name": DEFAULT_CLUSTER_LOGS},
                    "spec": {"logs": [{"logsFile": str(default_log), "follow": True}]}}

            def create_default_logs() -> bool:
                # Retried: kwokctl installs the CRD just before returning and it may not be served yet.
                try:
                    custom.create_cluster_custom_object(KWOK_GROUP, KWOK_VERSION, "clusterlogs", body)
                except ApiException as exc:
                    if exc.status != 409:
                        raise
                return True

            wait_until("ClusterLogs CRD", create_default_logs, 30)
            names = {n["metadata"]["name"] for n in nodes}

            def nodes_ready() -> bool:
                ready = {n.metadata.name for n in core.list_node(label_selector="type=kwok").items
                         if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])}
                return names <= ready

            wait_until("kwok nodes", nodes_ready, 180)
        finally:
            client.close()

    def _wait_gone(self, pids: list[int], timeout: float) -> None:
        # An exited component is gone from /proc or a zombie (empty cmdline): either way not ``ours``.
        # The cmdline empties when its memory is released, before its sockets close, so the API
        # server's port is watched too: it can outlive ``ours`` by a moment on a busy machine.
        deadline = time.monotonic() + timeout
        while (any(map(self.ours, pids)) or port_open(self.port)) and time.monotonic() < deadline:
            time.sleep(0.1)

    def release_port(self, timeout: float = 30) -> None:
        """Kill what a failed attempt left of this cluster, until its port is free.

        A component that kwokctl started but had not yet written to its pid files survives ``delete``, and
        it may bind the port only afterwards. The retry's API server then fails with "address already in use",
        and the retry waits out kwokctl's timeout (seen in CI: a `make run` cluster took over 180 s)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            strays = [int(d.name) for d in Path("/proc").iterdir()
                      if d.name.isdigit() and int(d.name) != os.getpid() and self.ours(int(d.name))]
            for pid in strays:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if not strays and not port_open(self.port):
                return
            time.sleep(0.2)

    def _kwokctl_and_wait(self, verb: str) -> None:
        pids = list(self.component_pids().values())
        if os.access(binaries()["kwokctl"], os.X_OK):
            self._log_run(self.kwokctl(verb, "cluster", timeout=60))
        # kwokctl signals the components and returns before they exit (the API server's port stays
        # open for a while): wait for them, kill stragglers, so "down" means down when it returns.
        self._wait_gone(pids, 10)
        for pid in filter(self.ours, pids):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._wait_gone(pids, 30)

    def stop(self) -> None:
        """Stop every component but keep the cluster's etcd data and files, for ``resume`` (idempotent)."""
        if self.cluster_dir.exists():
            self._kwokctl_and_wait("stop")

    def resume(self) -> bool:
        """Start a stopped cluster again with everything it held; False when there is nothing to resume."""
        if self.running():
            self.seed()
            return True
        if not (self.cluster_dir.exists() and self.kubeconfig_file.exists()):
            return False
        if port_open(self.port) and not self.apiserver_alive():
            raise StackError(f"kube: port {self.port} is in use by something else; choose another port")
        say(f"kube: resuming kwok cluster {self.name!r} on https://127.0.0.1:{self.port}")
        _raise_inotify_limit()
        proc = self.kwokctl("start", "cluster", timeout=180)
        self._log_run(proc)
        if proc.returncode != 0:
            say(f"kube: kwokctl start cluster failed (exit {proc.returncode}); recreating it")
            return False
        self.seed()
        return True

    def restart_apiserver(self) -> None:
        """Kill the API server (SIGKILL, as a crash or an OOM kill does) and start it again with the same
        command line, environment and log; returns once it answers. etcd and the other components keep
        running, so the cluster keeps everything it held (fault tests: tests/reliability)."""
        pid = self.component_pids()["kube-apiserver"]
        proc = Path(f"/proc/{pid}")
        argv = proc.joinpath("cmdline").read_bytes().split(b"\0")[:-1]
        env = dict(item.split(b"=", 1) for item in proc.joinpath("environ").read_bytes().split(b"\0") if b"=" in item)
        cwd, log = os.readlink(proc / "cwd"), os.readlink(proc / "fd" / "2")
        os.kill(pid, signal.SIGKILL)
        self._wait_gone([pid], 30)
        with open(log, "ab") as out:
            started = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        (self.cluster_dir / "pids" / "kube-apiserver.pid").write_text(str(started.pid))
        client = self.api_client()
        try:
            core = k8s.CoreV1Api(client)
            wait_until("apiserver after its restart", lambda: core.list_namespace(limit=1) is not None, 120)
        finally:
            client.close()

    def delete(self) -> None:
        """Stop every component and remove the cluster's files (idempotent)."""
        if not self.cluster_dir.exists():
            self.kubeconfig_file.unlink(missing_ok=True)
            return
        self._kwokctl_and_wait("delete")
        shutil.rmtree(self.cluster_dir, ignore_errors=True)
        self.kubeconfig_file.unlink(missing_ok=True)
        # The Logs objects lived in etcd and are gone; their files would only mislead the next run.
        shutil.rmtree(self.logs_root, ignore_errors=True)


def cluster_dir(ctx: Context) -> Path:
    return KwokCluster.stack(ctx).cluster_dir


def kubeconfig_file(ctx: Context) -> Path:
    return KwokCluster.stack(ctx).kubeconfig_file


@contextmanager
def _locked(ctx: Context) -> Iterator[None]:
    # Parallel test processes (e.g. pytest-xdist workers) all call up(); one creates the cluster.
    with (workdir(ctx) / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _raise_inotify_limit(wanted: int = 1024) -> None:
    """kwok follows every log with an inotify instance; the kernel's default of 128 per user is shared by
    every cluster and process of the user (kind documents the same limit), and a kwok that runs out answers
    "failed to create fsnotify watcher: too many open files". Raised when this process may."""
    limit = Path("/proc/sys/fs/inotify/max_user_instances")
    try:
        if int(limit.read_text()) < wanted:
            limit.write_text(str(wanted))
            say(f"kube: fs.inotify.max_user_instances raised to {wanted}")
    except (OSError, ValueError):
        pass  # not root, or not Linux: the default stays


class Kube:
    name = "kube"

    def facts(self, ctx: Context) -> dict[str, str]:
        # KUBECACHEDIR keeps kubectl's discovery cache (used after `eval $(python -m devstack env)`)
        # in the stack directory instead of ~/.kube/cache.
        return {"KUBECONFIG": str(kubeconfig_file(ctx)), "SLIPWAY_KWOK_LOGS_DIR": str(logs_dir(ctx)),
                "KUBECACHEDIR": str(workdir(ctx) / "kubectl-cache"), "KUBECTL": str(binaries()["kubectl"]),
                "HELM": str(helm_binary())}

    def up(self, ctx: Context) -> dict[str, str]:
        with _locked(ctx):
            return self._up(ctx)

    def _up(self, ctx: Context) -> dict[str, str]:
        # The stack's cluster comes with helm (issue 18): a fresh CI machine builds it with the rest.
        _ensure_helm()
        cluster = KwokCluster.stack(ctx)
        if cluster.running():
            cluster.seed()  # cheap, and repairs nodes a test may have deleted
            return self.facts(ctx)
        if port_open(KUBE_PORT) and not cluster.apiserver_alive():
            raise StackError(f"kube: port {KUBE_PORT} is in use by something else; "
                             "set SLIPWAY_STACK_KUBE_PORT to a free port")
        started = time.monotonic()
        cluster.create()
        say(f"kube: up in {time.monotonic() - started:.1f}s (KUBECONFIG={kubeconfig_file(ctx)})")
        return self.facts(ctx)

    def down(self, ctx: Context) -> None:
        with _locked(ctx):
            KwokCluster.stack(ctx).delete()

    def status(self, ctx: Context) -> str | None:
        return f"https://127.0.0.1:{KUBE_PORT}" if KwokCluster.stack(ctx).running() else None


def main(argv: list[str] | None = None) -> int:
    """``python -m devstack.control_plane up|stop|down|status --name N --port P --dir D``: one standalone cluster.

    This is what the ``local`` Terraform blueprint's provisioners and `make run` run; ``up`` is
    idempotent (it resumes a stopped cluster) and prints the kubeconfig path, ``stop`` stops the
    components and keeps the data, ``down`` stops and deletes the cluster and its files.
    """
    parser = argparse.ArgumentParser(prog="python -m devstack.control_plane", description=main.__doc__)
    parser.add_argument("command", choices=["up", "stop", "down", "status"])
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True, type=Path, help="where the cluster keeps all its state")
    parser.add_argument("--purge", action="store_true", help="down: also remove the directory (nothing is left)")
    args = parser.parse_args(argv)
    if args.name == CLUSTER and args.port == KUBE_PORT:
        parser.error(f"{CLUSTER!r} on port {KUBE_PORT} is the shared test-stack cluster; use `python -m devstack`")
    cluster = KwokCluster.standalone(args.name, args.port, args.dir)
    with (args.dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if args.command == "up":
                # A stopped cluster (`make run` stopped by Ctrl-C) comes back with what it held.
                if not cluster.resume():
                    cluster.create()
                print(cluster.kubeconfig_file)
            elif args.command == "stop":
                cluster.stop()
            elif args.command == "down":
                cluster.delete()
                if args.purge:
                    shutil.rmtree(args.dir, ignore_errors=True)
            else:
                print("running" if cluster.running() else "stopped")
        except StackError as exc:
            print(f"[kube] {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
