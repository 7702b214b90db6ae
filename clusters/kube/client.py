"""The one Kubernetes adapter: builds API clients from a cluster's stored (encrypted) kubeconfig."""

from __future__ import annotations

import hashlib
import ssl as ssl_lib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import urllib3
import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.utils import parse_quantity

from portal.quoting import quoted, shortened
from portal.safe_yaml import YAMLRefused
from portal.safe_yaml import load as load_yaml
from portal.upstream import ServiceUnavailable

from .client_errors import UNREACHABLE
from .eks_auth import eks_token
from .kubeconfig_policy import KubeconfigError, check_eks_target, check_kubeconfig, eks_targets


def load_kubeconfig(text: str) -> dict[str, Any]:
    """The kubeconfig's YAML as a mapping whose clusters, contexts and users are lists of named
    mappings (the shape every reader below relies on), through the bounded loader.
    Raises KubeconfigError with a short reason."""
    try:
        data = load_yaml(text, what="kubeconfig")
    except YAMLRefused as exc:
        raise KubeconfigError(str(exc)) from exc
    if not isinstance(data, dict) or not data.get("clusters") or not data.get("contexts"):
        raise KubeconfigError("The kubeconfig has no clusters or contexts.")
    for kind, inner in (("clusters", "cluster"), ("contexts", "context"), ("users", "user")):
        entries = data.get(kind) or []
        if not isinstance(entries, list) or not all(
                isinstance(e, dict) and isinstance(e.get(inner) or {}, dict) for e in entries):
            raise KubeconfigError(f"The kubeconfig's {kind} must be a list of {{name, {inner}: {{...}}}} entries.")
    return data


def parse_kubeconfig(text: str) -> dict[str, Any]:
    """Validate a kubeconfig and return its current context's cluster facts."""
    data = load_kubeconfig(text)
    current = data.get("current-context") or data["contexts"][0].get("name")
    context = next((c for c in data["contexts"] if c.get("name") == current), None)
    if context is None:
        raise KubeconfigError(f"The kubeconfig's current context {quoted(current)} is not defined.")
    cluster_name = (context.get("context") or {}).get("cluster")
    cluster = next((c for c in data["clusters"] if c.get("name") == cluster_name), None)
    server = ((cluster or {}).get("cluster") or {}).get("server")
    if not server or not isinstance(server, str):
        raise KubeconfigError(f"The kubeconfig's cluster {quoted(cluster_name)} has no server address.")
    return {"context": current, "server": server}


def api_client(kubeconfig: str, *, retries: int | None = None) -> client.ApiClient:
    """An ApiClient for the kubeconfig's current context (nothing is written to disk).

    ``retries=0`` makes an unreachable server fail at once (validation); None keeps the default.
    """
    configuration = client.Configuration()
    config.load_kube_config_from_dict(_loadable(kubeconfig), client_configuration=configuration,
                                      persist_config=False)
    if retries is not None:
        configuration.retries = retries
    return client.ApiClient(configuration=configuration)


def _loadable(kubeconfig: str) -> dict[str, Any]:
    """The kubeconfig as the kubernetes client may load it: checked against ``kubeconfig_policy`` on
    every use, with each `aws eks get-token` user replaced by a token minted in-process for the
    endpoint EKS reports (no AWS CLI runs, and no user command ever does). Raises KubeconfigError."""
    data = load_kubeconfig(kubeconfig)
    check_kubeconfig(data)
    minted: dict[str, dict[str, str]] = {}
    for target in eks_targets(data):
        check_eks_target(target)
        minted[target.user] = {"token": eks_token(cluster_name=target.cluster_name, region=target.region)}
    for entry in data.get("users") or []:
        if isinstance(entry, dict) and isinstance(entry.get("user"), dict) and entry["user"].get("exec"):
            # An EKS user no context sends anywhere gets no token; nothing is left to execute.
            entry["user"] = minted.get(str(entry.get("name", "")), {})
    return data


def kubeconfig_from_token(*, server: str, token: str, ca_data: str = "", name: str = "cluster") -> str:
    """A kubeconfig for an endpoint + CA (base64 PEM, as in kubeconfigs) + bearer token."""
    cluster: dict[str, Any] = {"server": server}
    if ca_data:
        cluster["certificate-authority-data"] = ca_data
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": name,
        "clusters": [{"name": name, "cluster": cluster}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "users": [{"name": name, "user": {"token": token}}],
    }, sort_keys=False)


def connection_problem(exc: BaseException, server: str) -> str:
    """A plain-language reason for a failed call, naming the server but never the credentials."""
    if isinstance(exc, KubeconfigError):
        return str(exc)
    if isinstance(exc, ConfigException):
        return f"The kubeconfig cannot be used: {shortened(str(exc), 200)}"
    if isinstance(exc, ApiException):
        if exc.status == 401:
            return f"The API server at {server} rejected the credentials (401 Unauthorized): the token or " \
                   "client certificate is invalid or expired."
        if exc.status == 403:
            return f"The API server at {server} refused the request (403 Forbidden)."
        return f"The API server at {server} answered {exc.status} {exc.reason}."
    reason = getattr(exc, "reason", None) or exc
    text = str(reason)
    if isinstance(reason, ssl_lib.SSLError) or "CERTIFICATE_VERIFY_FAILED" in text or "SSLError" in text:
        return f"The API server at {server} presented a TLS certificate that the given CA does not trust " \
               "(certificate verify failed): check the CA data."
    if isinstance(exc, urllib3.exceptions.HTTPError) or isinstance(exc, OSError):
        if "timed out" in text.lower():
            return f"The API server at {server} did not answer in time (connection timed out)."
        if "refused" in text.lower():
            return f"The API server at {server} cannot be reached: connection refused."
        if "Name or service not known" in text or "resolve" in text.lower():
            return f"The API server's host in {server} does not resolve (DNS lookup failed)."
        return f"The API server at {server} cannot be reached: {type(reason).__name__}."
    return f"Calling the API server at {server} failed: {type(exc).__name__}."


CONNECTION_ERRORS = (*UNREACHABLE, KubeconfigError)


@contextmanager
def reaching(server: str) -> Iterator[None]:
    """Around calls a request waits on: a cluster that cannot be reached (or refuses Slipway's
    credentials) raises ServiceUnavailable with ``connection_problem``'s reason instead."""
    try:
        yield
    except CONNECTION_ERRORS as exc:
        raise ServiceUnavailable(connection_problem(exc, server or "?")) from exc


@contextmanager
def reachable_api(kubeconfig: str, server: str) -> Iterator[client.ApiClient]:
    """``api_client`` for calls a request waits on: failures to reach the cluster raise ServiceUnavailable."""
    with reaching(server), api_client(kubeconfig) as api:
        yield api


def check_self_contained(text: str) -> None:
    """Refuse, before anything is stored, a kubeconfig that would make Slipway's server read its
    local files, run commands, use a proxy, or send credentials over http or unverified TLS
    (see ``kubeconfig_policy``; EKS endpoints are checked when a client is built). Raises KubeconfigError."""
    check_kubeconfig(load_kubeconfig(text))


def _ready(node: client.V1Node) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in (node.status.conditions or []))


def server_version(api: client.ApiClient, *, timeout: float) -> str:
    """The API server's version ("v1.33.13"). Raises on any failure."""
    return client.VersionApi(api).get_code(_request_timeout=timeout).git_version


def probe(kubeconfig: str, *, timeout: float = 5.0) -> dict[str, Any]:
    """Ask the API server for its version and nodes. Raises on any failure.

    Allocatable CPU (millicores) and memory (bytes) are summed over Ready nodes only: capacity
    on a node that is not Ready cannot be scheduled.
    """
    with api_client(kubeconfig, retries=0) as api:
        version = server_version(api, timeout=timeout)
        nodes = client.CoreV1Api(api).list_node(_request_timeout=timeout).items
    ready = [n for n in nodes if _ready(n)]
    cpu = sum(parse_quantity((n.status.allocatable or {}).get("cpu", "0")) for n in ready)
    memory = sum(parse_quantity((n.status.allocatable or {}).get("memory", "0")) for n in ready)
    return {"version": version, "nodes": len(nodes), "nodes_ready": len(ready),
            "allocatable_cpu_millicores": int(cpu * 1000), "allocatable_memory_bytes": int(memory)}


@dataclass(frozen=True)
class AsyncEndpoint:
    """How to reach one API server from asyncio code: base URL, TLS context and auth headers."""

    server: str
    ssl: ssl_lib.SSLContext | bool
    headers: dict[str, str]


_endpoints: dict[str, tuple[float, AsyncEndpoint]] = {}
# Loading a kubeconfig costs ~40 ms (parsing, temporary certificate files, SSL context), paid
# in the connect path of every log viewer; credentials from exec plugins expire, hence the TTL.
ENDPOINT_TTL_SECONDS = 300.0


def async_endpoint(kubeconfig: str) -> AsyncEndpoint:
    """Connection facts for aiohttp, from the same kubeconfig the sync client uses.

    The kubernetes client's own loader resolves the current context (inline certificate data,
    tokens, exec plugins). Cached per kubeconfig for ``ENDPOINT_TTL_SECONDS``: hundreds of log
    viewers share a handful of clusters.
    """
    key = hashlib.sha256(kubeconfig.encode()).hexdigest()
    cached = _endpoints.get(key)
    if cached is not None and time.monotonic() - cached[0] < ENDPOINT_TTL_SECONDS:
        return cached[1]
    configuration = client.Configuration()
    config.kube_config.KubeConfigLoader(config_dict=_loadable(kubeconfig)).load_and_set(configuration)
    if not configuration.verify_ssl:
        context: ssl_lib.SSLContext | bool = False
    else:
        context = ssl_lib.create_default_context(cafile=configuration.ssl_ca_cert or None)
        if configuration.cert_file:
            context.load_cert_chain(configuration.cert_file, configuration.key_file)
    headers = {}
    token = configuration.api_key.get("authorization") or configuration.api_key.get("BearerToken")
    if token:
        headers["Authorization"] = token if token.lower().startswith("bearer ") else f"Bearer {token}"
    endpoint = AsyncEndpoint(server=configuration.host.rstrip("/"), ssl=context, headers=headers)
    _endpoints[key] = (time.monotonic(), endpoint)
    return endpoint
