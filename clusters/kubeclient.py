"""The one Kubernetes adapter: builds API clients from a cluster's stored (encrypted) kubeconfig."""

from __future__ import annotations

import hashlib
import ssl as ssl_lib
import time
from dataclasses import dataclass
from typing import Any

import yaml
from kubernetes import client, config


class KubeconfigError(ValueError):
    """The kubeconfig cannot be used; the message says why, without echoing credentials."""


def parse_kubeconfig(text: str) -> dict[str, Any]:
    """Validate a kubeconfig and return its current context's cluster facts."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise KubeconfigError("The kubeconfig is not valid YAML.") from exc
    if not isinstance(data, dict) or not data.get("clusters") or not data.get("contexts"):
        raise KubeconfigError("The kubeconfig has no clusters or contexts.")
    current = data.get("current-context") or data["contexts"][0].get("name")
    context = next((c for c in data["contexts"] if c.get("name") == current), None)
    if context is None:
        raise KubeconfigError(f"The kubeconfig's current context {current!r} is not defined.")
    cluster_name = (context.get("context") or {}).get("cluster")
    cluster = next((c for c in data["clusters"] if c.get("name") == cluster_name), None)
    server = ((cluster or {}).get("cluster") or {}).get("server")
    if not server:
        raise KubeconfigError(f"The kubeconfig's cluster {cluster_name!r} has no server address.")
    return {"context": current, "server": server}


def api_client(kubeconfig: str) -> client.ApiClient:
    """An ApiClient for the kubeconfig's current context (nothing is written to disk)."""
    return config.new_client_from_config_dict(yaml.safe_load(kubeconfig))


def probe(kubeconfig: str, *, timeout: float = 5.0) -> dict[str, Any]:
    """Ask the API server for its version and node count. Raises on any failure."""
    with api_client(kubeconfig) as api:
        version = client.VersionApi(api).get_code(_request_timeout=timeout)
        nodes = client.CoreV1Api(api).list_node(_request_timeout=timeout)
    return {"version": version.git_version, "nodes": len(nodes.items)}


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
    config.kube_config.KubeConfigLoader(config_dict=yaml.safe_load(kubeconfig)).load_and_set(configuration)
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
