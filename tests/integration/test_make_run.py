"""`make run`'s command starts the portal and the local servers it uses, answers, and stops all of it cleanly."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import boto3
import pymysql
import pytest
import redis

from devstack.process import free_port, port_open

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]



def children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def server_ports() -> dict[str, int]:
    """Free ports for `make run`'s own servers, so a developer's running portal never collides with tests."""
    return {name: free_port() for name in ("redis", "mariadb", "moto", "kube")}


def start_runportal(var_dir: Path, port: int, servers: dict[str, int], *, cluster: bool = False) -> subprocess.Popen:
    """`make run`'s command with embedded defaults (SQLite and every server's data in ``var_dir``)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_URL", "REDIS_URL", "AWS_", "LOG_LEVEL", "PYTHONWARNINGS"))}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings", SLIPWAY_VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1",
               **{f"SLIPWAY_RUN_{name.upper()}_PORT": str(p) for name, p in servers.items()})
    return subprocess.Popen([sys.executable, "manage.py", "runportal", "--port", str(port),
                             *([] if cluster else ["--no-cluster"])],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def read_until(proc: subprocess.Popen, text: str, lines: list[str], timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if text in line:
            break
    return "".join(lines)


def test_runportal_serves_starts_its_servers_and_stops_everything(tmp_path):
    port, servers = free_port(), server_ports()
    proc = start_runportal(tmp_path, port, servers)
    lines: list[str] = []
    try:
        output = read_until(proc, f"http://127.0.0.1:{port}/", lines)
        assert f"Slipway is running at http://127.0.0.1:{port}/" in output, output
        assert "username: admin" in output and "password: " in output
        # Every server the embedded default registers is started, and says so; nothing else is claimed.
        assert (f"Local servers: redis 127.0.0.1:{servers['redis']}, mariadb 127.0.0.1:{servers['mariadb']}, "
                f"moto 127.0.0.1:{servers['moto']}") in output
        facts = json.loads((tmp_path / "stack" / "facts.json").read_text())
        mysql = urlparse(facts["MARIADB_URL"])
        conn = pymysql.connect(host=mysql.hostname, port=mysql.port, user=mysql.username, password=mysql.password)
        conn.close()
        assert redis.Redis.from_url(facts["REDIS_URL"]).ping()
        s3 = boto3.client("s3", endpoint_url=facts["AWS_ENDPOINT_URL"], aws_access_key_id="local",
                          aws_secret_access_key="local", region_name="us-east-1")
        s3.create_bucket(Bucket="kept-across-restarts")
        # Nothing alarming a newcomer cannot act on.
        for noise in ("SecurityWarning", "superuser privileges", "INFO daphne", "-------------- celery@"):
            assert noise not in output
        health = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10)
        assert health.status == 200 and b'"ok"' in health.read()
        login = urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=10).read().decode()
        assert "Sign in to Slipway" in login
        children = children_of(proc.pid)
        assert len(children) >= 6  # web, worker, beat, redis, mariadb, moto
    finally:
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=90)[0]
    assert proc.returncode == 0, rest
    assert "stopped: web, worker, beat, local clusters and servers." in rest
    still_running = [pid for pid in children if os.path.exists(f"/proc/{pid}") and
                     "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()]
    assert still_running == []
    assert not any(port_open(p) for p in (port, servers["redis"], servers["mariadb"], servers["moto"]))

    # The next start finds what the first one kept (the moto server's state is on disk).
    port = free_port()
    proc = start_runportal(tmp_path, port, servers)
    try:
        read_until(proc, f"http://127.0.0.1:{port}/", [])
        facts = json.loads((tmp_path / "stack" / "facts.json").read_text())
        s3 = boto3.client("s3", endpoint_url=facts["AWS_ENDPOINT_URL"], aws_access_key_id="local",
                          aws_secret_access_key="local", region_name="us-east-1")
        assert "kept-across-restarts" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=90)
