"""`make run` when one of its processes dies: everything stops, nothing is orphaned."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.test_make_run import ROOT, children_of, free_port

pytestmark = pytest.mark.reliability


def alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text().lower()


def test_killed_worker_stops_the_whole_portal(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "AWS_ENDPOINT"))}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings", SLIPWAY_VAR_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "manage.py", "runportal", "--port", str(port), "--no-cluster"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in proc.stdout:
            if f"http://127.0.0.1:{port}/" in line:
                break
        children = children_of(proc.pid)
        worker = next(pid for pid in children if b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes())
        os.kill(worker, signal.SIGKILL)
        output = proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "exited with" in output and "stopped." in output
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in children):
        time.sleep(0.2)
    assert [pid for pid in children if alive(pid)] == []
