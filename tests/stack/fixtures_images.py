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
from collections.abc import Iterator
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
    auth: tuple[str, str] | requests.auth.AuthBase

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


def _serve_registry(root: Path, auth: dict) -> Iterator[str]:
    """Run ``docker-registry serve`` on a free loopback port with ``auth``; yields its URL."""
    binary = shutil.which("docker-registry")
    if binary is None:
        message = "docker-registry is not installed (tests/stack/system-deps.sh installs it)"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    port = _free_port()
    config = {"version": 0.1, "log": {"level": "error", "accesslog": {"disabled": True}},
              "storage": {"filesystem": {"rootdirectory": str(root / "data")}, "delete": {"enabled": True}},
              "http": {"addr": f"127.0.0.1:{port}", "secret": uuid.uuid4().hex}, "auth": auth}
    (root / "config.yml").write_text(json.dumps(config))  # JSON is YAML
    log = open(root / "registry.log", "wb")
    process = subprocess.Popen([binary, "serve", str(root / "config.yml")], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:  # a readiness probe, not a timing assertion
        try:
            if requests.get(f"{url}/v2/", timeout=1).status_code in (200, 401):
                break
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"docker-registry did not start: {(root / 'registry.log').read_text()[-2000:]}")
        time.sleep(0.1)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def local_registry(tmp_path_factory) -> Iterator[LocalRegistry]:
    """Distribution (``docker-registry serve``) on loopback, filesystem storage, htpasswd (bcrypt) auth."""
    import bcrypt

    root: Path = tmp_path_factory.mktemp("registry")
    (root / "htpasswd").write_text(
        f"{REGISTRY_USER}:{bcrypt.hashpw(REGISTRY_PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()}\n")
    auth = {"htpasswd": {"realm": "slipway-tests", "path": str(root / "htpasswd")}}
    for url in _serve_registry(root, auth):
        yield LocalRegistry(url=url, auth=(REGISTRY_USER, REGISTRY_PASSWORD))


class TokenService:
    """A Docker Registry token service (the protocol Docker Hub, GHCR and Harbor use) on loopback.

    It checks Basic credentials and answers ``{"token": <JWT>}`` signed with an RSA key whose
    certificate is the registry's ``rootcertbundle``; the JWT names the key by its libtrust key id.
    """

    issuer, service = "slipway-test-issuer", "slipway-test-registry"

    def __init__(self, root: Path) -> None:
        import datetime as dt
        import threading
        from http.server import BaseHTTPRequestHandler, HTTPServer

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "slipway test token signer")])
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(self.key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=30)).sign(self.key, hashes.SHA256()))
        self.bundle = root / "token-signer.pem"
        self.bundle.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        der = self.key.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
        import base64

        b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode()
        self.kid = ":".join(b32[i:i + 4] for i in range(0, 48, 4))
        self.requests: list[dict] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                from urllib.parse import parse_qs, urlsplit

                query = parse_qs(urlsplit(self.path).query)
                service.requests.append(query)
                expected = "Basic " + base64.b64encode(f"{REGISTRY_USER}:{REGISTRY_PASSWORD}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self.send_response(401)
                    self.end_headers()
                    return
                body = json.dumps({"token": service.token(query.get("scope", []))}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self.server.server_port}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, scopes: list[str]) -> str:
        import jwt

        access = []
        for scope in scopes:
            kind, name, actions = scope.split(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": REGISTRY_USER, "aud": self.service, "iat": now, "nbf": now - 60,
                  "exp": now + 300, "jti": uuid.uuid4().hex, "access": access}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _PushToken(requests.auth.AuthBase):
    """Bearer auth for pushing to the token-auth registry (the test's own client, not Slipway's)."""

    def __init__(self, tokens: TokenService) -> None:
        self.tokens = tokens

    def __call__(self, request):
        from urllib.parse import urlsplit

        repository = urlsplit(request.url).path.split("/v2/", 1)[1].rsplit("/blobs/", 1)[0].rsplit("/manifests/", 1)[0]
        request.headers["Authorization"] = "Bearer " + self.tokens.token([f"repository:{repository}:pull,push"])
        return request


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory) -> Iterator[tuple[LocalRegistry, TokenService]]:
    """Distribution behind a bearer-token service (``auth: token``), as public registries run."""
    root: Path = tmp_path_factory.mktemp("token-registry")
    tokens = TokenService(root)
    auth = {"token": {"realm": tokens.realm, "service": tokens.service, "issuer": tokens.issuer,
                      "rootcertbundle": str(tokens.bundle)}}
    try:
        for url in _serve_registry(root, auth):
            yield LocalRegistry(url=url, auth=_PushToken(tokens)), tokens
    finally:
        tokens.close()


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
