"""`make run`'s command starts the portal, answers /healthz and the login page, and stops cleanly."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def start_runportal(var_dir: Path, port: int) -> subprocess.Popen:
    """`make run`'s command with embedded defaults (SQLite in ``var_dir``), without the cluster."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "AWS_ENDPOINT"))}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings", SLIPWAY_VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "manage.py", "runportal", "--port", str(port), "--no-cluster"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_runportal_serves_and_stops_cleanly(tmp_path):
    port = free_port()
    proc = start_runportal(tmp_path, port)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if f"http://127.0.0.1:{port}/" in line:
                break
        output = "".join(lines)
        assert f"Slipway is running at http://127.0.0.1:{port}/" in output, output
        assert "username: admin" in output and "password: " in output
        health = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10)
        assert health.status == 200 and b'"ok"' in health.read()
        login = urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=10).read().decode()
        assert "Sign in to Slipway" in login
        children = children_of(proc.pid)
        assert len(children) >= 3  # web, worker, beat (+ redis/moto when available)
    finally:
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, rest
    assert "stopped." in rest
    still_running = [pid for pid in children if os.path.exists(f"/proc/{pid}") and
                     "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()]
    assert still_running == []
