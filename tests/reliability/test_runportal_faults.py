"""`make run` when one of its processes dies: everything stops, nothing is orphaned."""

import os
import signal
import time
from pathlib import Path

import pytest

from devstack.process import free_port, port_open
from tests.integration.test_make_run import children_of, server_ports, start_runportal

pytestmark = pytest.mark.reliability


def alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text().lower()


def test_killed_worker_stops_the_whole_portal(tmp_path):
    port = free_port()
    servers = server_ports()
    proc = start_runportal(tmp_path, port, servers)
    try:
        for line in proc.stdout:
            if f"http://127.0.0.1:{port}/" in line:
                break
        children = children_of(proc.pid)
        # The argument, not a substring: the test's own tmp path (a server's data dir) says "worker" too.
        worker = next(pid for pid in children if b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"))
        os.kill(worker, signal.SIGKILL)
        output = proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "exited with" in output and "stopped: web, worker, beat, local clusters and servers." in output
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in children):
        time.sleep(0.2)
    assert [pid for pid in children if alive(pid)] == []
    # The servers it started (in sessions of their own) are stopped too.
    assert [p for p in servers.values() if port_open(p)] == []
