"""`make run`'s moto server keeps its state across a restart and a crash, every S3 version included."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from devstack.process import free_port, port_open, wait_for_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]



class Server:
    def __init__(self, state: Path) -> None:
        self.state, self.port, self.proc = state, free_port(), None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "devstack.moto_persistent", "--port", str(self.port),
                                      "--state", str(self.state), "--interval", "0.3"], cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wait_for_port(self.port, name="moto", timeout=60)

    def stop(self, sig: int) -> str:
        self.proc.send_signal(sig)
        out = self.proc.communicate(timeout=30)[0]
        assert not port_open(self.port)
        return out

    def client(self, service: str):
        return boto3.client(service, endpoint_url=f"http://127.0.0.1:{self.port}", aws_access_key_id="local",
                            aws_secret_access_key="local", region_name="us-east-1")


def wait_for_snapshot(path: Path, newer_than: float) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_mtime > newer_than:
            return
        time.sleep(0.1)
    raise AssertionError(f"no snapshot written to {path}")


def test_state_survives_a_clean_restart_and_a_crash(tmp_path):
    server = Server(tmp_path / "moto" / "state.pickle")
    server.start()
    try:
        s3 = server.client("s3")
        s3.create_bucket(Bucket="tf-state")
        s3.put_bucket_versioning(Bucket="tf-state", VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket="tf-state", Key="clusters/a.tfstate", Body=b'{"serial": 1}' + b" " * 200_000)
        s3.put_object(Bucket="tf-state", Key="clusters/a.tfstate", Body=b'{"serial": 2}')
        zone = server.client("route53").create_hosted_zone(Name="example.test", CallerReference="r1")
    finally:
        out = server.stop(signal.SIGTERM)
    assert "state saved" in out, out

    server.start()
    s3 = server.client("s3")
    assert s3.get_object(Bucket="tf-state", Key="clusters/a.tfstate")["Body"].read() == b'{"serial": 2}'
    versions = s3.list_object_versions(Bucket="tf-state")["Versions"]
    assert len(versions) == 2  # the history Terraform states are restored from survives too
    oldest = next(v for v in versions if not v["IsLatest"])
    assert s3.get_object(Bucket="tf-state", Key="clusters/a.tfstate",
                         VersionId=oldest["VersionId"])["Body"].read().startswith(b'{"serial": 1}')
    zones = server.client("route53").list_hosted_zones()["HostedZones"]
    assert [z["Id"] for z in zones] == [zone["HostedZone"]["Id"]]  # same id: Terraform's state still matches

    # A crash (SIGKILL) loses nothing written before the snapshot that follows each change.
    before = server.state.stat().st_mtime
    s3.put_object(Bucket="tf-state", Key="envs/b/file.txt", Body=b"kept")
    wait_for_snapshot(server.state, before)
    server.stop(signal.SIGKILL)
    server.start()
    try:
        assert server.client("s3").get_object(Bucket="tf-state", Key="envs/b/file.txt")["Body"].read() == b"kept"
    finally:
        server.stop(signal.SIGTERM)
    assert not list(server.state.parent.glob("*.tmp"))
    assert os.path.getsize(server.state) > 200_000
