"""Image registries for tests: ECR repositories on the moto server, and a real Distribution registry
(Debian's ``docker-registry``) on loopback with htpasswd auth, plus a tiny v2 client to push images.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from .fixtures import in_ci

REGISTRY_USER, REGISTRY_PASSWORD = "slipway", "pw-registry-tests-1"
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_V1 = "application/vnd.docker.container.image.v1+json"
LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def image_manifest(*, created: str, layer: bytes) -> tuple[dict, bytes, bytes]:
    """(manifest, config blob, layer blob) of a one-layer image created at ``created`` (ISO 8601)."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "created": created,
                         "rootfs": {"type": "layers", "diff_ids": [f"sha256:{hashlib.sha256(layer).hexdigest()}"]},
                         "config": {}}).encode()
    manifest = {"schemaVersion": 2, "mediaType": MANIFEST_V2,
                "config": {"mediaType": CONFIG_V1, "size": len(config), "digest": _digest(config)},
                "layers": [{"mediaType": LAYER, "size": len(layer), "digest": _digest(layer)}]}
    return manifest, config, layer


def _digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


@dataclass
class LocalRegistry:
    url: str
    auth: tuple[str, str]

    def push(self, repository: str, tag: str, *, created: str, layer: bytes | None = None) -> str:
        """Push a one-layer image as ``repository:tag`` with plain v2 requests; returns the manifest digest."""
        manifest, config, layer = image_manifest(created=created, layer=layer or uuid.uuid4().bytes)
        for blob in (config, layer):
            start = requests.post(f"{self.url}/v2/{repository}/blobs/uploads/", auth=self.auth, timeout=10)
            assert start.status_code == 202, start.text
            location = start.headers["Location"]
            location = location if location.startswith("http") else self.url + location
            done = requests.put(location, params={"digest": _digest(blob)}, data=blob, auth=self.auth,
                                headers={"Content-Type": "application/octet-stream"}, timeout=10)
            assert done.status_code == 201, done.text
        body = json.dumps(manifest).encode()
        put = requests.put(f"{self.url}/v2/{repository}/manifests/{tag}", data=body, auth=self.auth,
                           headers={"Content-Type": MANIFEST_V2}, timeout=10)
        assert put.status_code == 201, put.text
        return put.headers["Docker-Content-Digest"]

    def delete(self, repository: str, digest: str) -> None:
        """Delete a manifest (and so every tag on it)."""
        response = requests.delete(f"{self.url}/v2/{repository}/manifests/{digest}", auth=self.auth, timeout=10)
        assert response.status_code == 202, response.text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def local_registry(tmp_path_factory) -> LocalRegistry:
    """Distribution (``docker-registry serve``) on loopback, filesystem storage, htpasswd (bcrypt) auth."""
    binary = shutil.which("docker-registry")
    if binary is None:
        message = "docker-registry is not installed (tests/stack/system-deps.sh installs it)"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    import bcrypt

    root: Path = tmp_path_factory.mktemp("registry")
    (root / "htpasswd").write_text(
        f"{REGISTRY_USER}:{bcrypt.hashpw(REGISTRY_PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()}\n")
    port = _free_port()
    config = {"version": 0.1, "log": {"level": "error", "accesslog": {"disabled": True}},
              "storage": {"filesystem": {"rootdirectory": str(root / "data")}, "delete": {"enabled": True}},
              "http": {"addr": f"127.0.0.1:{port}", "secret": uuid.uuid4().hex},
              "auth": {"htpasswd": {"realm": "slipway-tests", "path": str(root / "htpasswd")}}}
    (root / "config.yml").write_text(json.dumps(config))  # JSON is YAML
    log = open(root / "registry.log", "wb")
    process = subprocess.Popen([binary, "serve", str(root / "config.yml")], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{url}/v2/", timeout=1).status_code in (200, 401):
                break
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"docker-registry did not start: {(root / 'registry.log').read_text()[-2000:]}")
        time.sleep(0.1)
    yield LocalRegistry(url=url, auth=(REGISTRY_USER, REGISTRY_PASSWORD))
    process.terminate()
    process.wait(timeout=10)
    log.close()


@pytest.fixture
def ecr_repository(aws_settings):
    """A fresh ECR repository on the moto server; deleted (with its images) afterwards."""
    from portal import aws

    ecr = aws.client("ecr")
    name = f"t-{uuid.uuid4().hex[:10]}/app"
    ecr.create_repository(repositoryName=name)
    yield name
    ecr.delete_repository(repositoryName=name, force=True)


def ecr_push(repository: str, tag: str, *, layer: bytes | None = None) -> str:
    """``put_image`` a distinct manifest as ``repository:tag``; returns the digest moto reports."""
    from portal import aws

    manifest, _, _ = image_manifest(created="2026-01-01T00:00:00Z", layer=layer or uuid.uuid4().bytes)
    image = aws.client("ecr").put_image(repositoryName=repository, imageManifest=json.dumps(manifest),
                                        imageTag=tag, imageManifestMediaType=MANIFEST_V2)["image"]
    return image["imageId"]["imageDigest"]
