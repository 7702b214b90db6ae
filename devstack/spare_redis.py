"""A throwaway redis-server on a free loopback port, for tests and benchmarks that need a second
server (another host, its own password) next to the stack's shared one."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from .process import StackError, free_port, wait_for_port


@contextmanager
def spare_redis(*, password: str = "", databases: int = 16) -> Iterator[dict]:
    """Start redis-server (no persistence) and yield dict(host, port, password, process); stop it after."""
    binary = shutil.which("redis-server")
    if not binary:
        raise StackError("redis-server is not installed (devstack/system-deps.sh installs it)")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="slipway-redis-")
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", workdir, "--databases", str(databases)]
    if password:
        args += ["--requirepass", password]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, name="spare redis-server", timeout=30)
        yield {"host": "127.0.0.1", "port": port, "password": password, "process": process}
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
