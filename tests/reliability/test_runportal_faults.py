"""`make run` when one of its processes dies: everything stops, nothing is orphaned."""

import os
import signal
import time
from pathlib import Path

import pytest

from tests.integration.test_make_run import children_of, free_port, start_runportal

pytestmark = pytest.mark.reliability


def alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text().lower()


def test_killed_worker_stops_the_whole_portal(tmp_path):
    port = free_port()
    proc = start_runportal(tmp_path, port)
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
