"""Starting and stopping the stack's daemons by pid file, and waiting for their ports."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


class StackError(RuntimeError):
    """A component could not be installed or started; the message says what to do."""


@dataclass(frozen=True)
class Context:
    """Where the stack keeps its data, pid files and logs."""

    root: Path

    @classmethod
    def default(cls) -> Context:
        # Not under $HOME: PostgreSQL runs as its own user and must be able to reach its data. The
        # path is fixed (per user) because every checkout and worktree must find the same running stack.
        root = Path(os.environ.get("SLIPWAY_STACK_DIR", f"/tmp/slipway-stack-{os.getuid()}"))  # noqa: S108
        root.mkdir(parents=True, exist_ok=True)
        return cls(root=root)

    def dir(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def pidfile(self, name: str) -> Path:
        return self.dir("run") / f"{name}.pid"

    def logfile(self, name: str) -> Path:
        return self.dir("log") / f"{name}.log"


def say(message: str) -> None:
    print(f"[stack] {message}", file=sys.stderr, flush=True)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    """A loopback port nothing listens on (now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, name: str, timeout: float = 60.0, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    raise StackError(f"{name} did not open port {port} within {timeout:.0f}s\n{tail}")


def read_pid(ctx: Context, name: str) -> int | None:
    path = ctx.pidfile(name)
    try:
        pid = int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        path.unlink(missing_ok=True)
        return None
    return pid


def spawn(ctx: Context, name: str, argv: list[str], *, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> int:
    """Start a daemon detached from this process group and record its pid."""
    log = ctx.logfile(name).open("ab")
    proc = subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True,
    )
    ctx.pidfile(name).write_text(str(proc.pid))
    return proc.pid


def _reap(pid: int) -> None:
    """Collect an exited daemon when this process started it (`make run`), so it does not linger as a zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass  # not our child: init reaps it


def stop(ctx: Context, name: str, *, timeout: float = 20.0) -> bool:
    """Stop the daemon this stack started under ``name``; never touches anything else."""
    pid = read_pid(ctx, name)
    if pid is None:
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    ctx.pidfile(name).unlink(missing_ok=True)
    return True


def find_binary(*candidates: str) -> str | None:
    for candidate in candidates:
        if os.path.isabs(candidate) and os.access(candidate, os.X_OK):
            return candidate
        found = shutil.which(candidate)
        if found:
            return found
    return None


_apt_updated = False


def apt_install(*packages: str) -> None:
    """Install Debian packages (the stack's only install path for servers)."""
    global _apt_updated
    if os.geteuid() != 0:
        raise StackError(f"missing {', '.join(packages)}: run `sudo apt-get install {' '.join(packages)}`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if not _apt_updated:
        say("apt-get update")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        _apt_updated = True
    say(f"apt-get install {' '.join(packages)}")
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
                   check=True, env=env, stdout=subprocess.DEVNULL)
