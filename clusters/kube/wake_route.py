"""While an environment sleeps, its Ingresses send every request to Slipway, which shows a waking page
and wakes it: each rule's backend becomes the Service ``slipway-waker`` in the environment's namespace.

The waker Service points outside the cluster, at Slipway's address ("host:port"): for an IP address a
Service without a selector plus an EndpointSlice naming that address (Kubernetes does not route an
ExternalName to an IP), for a DNS name an ExternalName Service. The Ingress keeps its hosts, so requests
reach Slipway with their Host header and Slipway knows which environment they are for.

The original rules are returned to the caller, which saves them (the sleep state row) before anything
changes; ``ingresses_restore`` puts them back. Idempotent: an Ingress already routed to the waker reports
the rules saved earlier, never the waker's own.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from .apply import apply_manifests, raise_for_errors

WAKER = "slipway-waker"
_PORT_NAME = "http"


def wake_address(address: str) -> tuple[str, int]:
    """``"host:port"`` (``[v6]:port`` for IPv6) as (host, port). Raises ValueError with a sentence."""
    host, sep, port = address.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"The wake address {address!r} is not host:port (e.g. 10.0.0.5:8000).")
    return host, int(port)


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def wake_address_reachable(address: str) -> bool:
    """False for a loopback address (the default, for development): a cluster can never reach it, and
    the API server refuses it in an EndpointSlice, so the waker Service is made without endpoints."""
    ip = _ip(wake_address(address)[0])
    return ip is None or not ip.is_loopback


def waker_manifests(namespace: str, *, address: str, labels: dict[str, str]) -> list[dict[str, Any]]:
    """The waker Service (and its EndpointSlice for an IP address that is not loopback). Pure."""
    host, port = wake_address(address)
    meta = {"name": WAKER, "namespace": namespace, "labels": labels}
    ports = [{"name": _PORT_NAME, "port": port, "targetPort": port, "protocol": "TCP"}]
    ip = _ip(host)
    if ip is None:
        return [{"apiVersion": "v1", "kind": "Service", "metadata": meta,
                 "spec": {"type": "ExternalName", "externalName": host, "ports": ports}}]
    service = {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": {"type": "ClusterIP", "ports": ports}}
    if ip.is_loopback:
        return [service]
    slice_labels = {**labels, "kubernetes.io/service-name": WAKER}
    return [
        service,
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": WAKER, "namespace": namespace, "labels": slice_labels},
         "addressType": f"IPv{ip.version}", "endpoints": [{"addresses": [host], "conditions": {"ready": True}}],
         "ports": [{"name": _PORT_NAME, "port": port, "protocol": "TCP"}]},
    ]


def waker_ensure(api: client.ApiClient, namespace: str, *, address: str, labels: dict[str, str]) -> None:
    """Create or update the waker Service (server-side apply). Idempotent; raises ApplyFailed."""
    raise_for_errors(apply_manifests(api, waker_manifests(namespace, address=address, labels=labels)))


def waker_remove(api: client.ApiClient, namespace: str) -> None:
    """Delete the waker Service and EndpointSlice if present. Idempotent."""
    for delete in (client.CoreV1Api(api).delete_namespaced_service,
                   client.DiscoveryV1Api(api).delete_namespaced_endpoint_slice):
        try:
            delete(WAKER, namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise


def _routed_to_waker(rules: list[dict[str, Any]]) -> bool:
    backends = [p.get("backend", {}).get("service", {}).get("name") for r in rules for p in r.get("http", {}).get(
        "paths", [])]
    return bool(backends) and all(name == WAKER for name in backends)


def ingress_routes(api: client.ApiClient, namespace: str, *, selector: str,
                   saved: dict[str, Any] | None = None) -> dict[str, Any]:
    """Each Ingress matching ``selector``: its rules, by name (what the sleep saves). One already routed
    to the waker reports its rules from ``saved``. Read-only."""
    saved = saved or {}
    listing = client.NetworkingV1Api(api).list_namespaced_ingress(namespace, label_selector=selector)
    routes = {}
    for ingress in listing.items:
        rules = api.sanitize_for_serialization(ingress.spec.rules or [])
        name = ingress.metadata.name
        if _routed_to_waker(rules):
            if name in saved:
                routes[name] = saved[name]
        else:
            routes[name] = rules
    return routes


def _patch_rules(api: client.ApiClient, namespace: str, name: str, rules: list[dict[str, Any]]) -> bool:
    try:
        # A JSON patch replaces the whole list (a merge would keep paths that are no longer wanted).
        client.NetworkingV1Api(api).patch_namespaced_ingress(
            name, namespace, [{"op": "replace", "path": "/spec/rules", "value": rules}])
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


def waker_rules(rules: list[dict[str, Any]], *, port: int) -> list[dict[str, Any]]:
    """The same hosts, every path of each sent to the waker. Pure."""
    backend = {"service": {"name": WAKER, "port": {"number": port}}}
    return [{**({"host": r["host"]} if r.get("host") else {}),
             "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}} for r in rules]


def ingresses_route_to_waker(api: client.ApiClient, namespace: str, routes: dict[str, Any], *,
                             address: str) -> list[str]:
    """Point each Ingress in ``routes`` (name → its saved rules) at the waker; return the names changed.
    Idempotent; an Ingress that no longer exists is skipped."""
    _, port = wake_address(address)
    return [name for name, rules in sorted(routes.items())
            if _patch_rules(api, namespace, name, waker_rules(rules, port=port))]


def ingresses_restore(api: client.ApiClient, namespace: str, routes: dict[str, Any]) -> list[str]:
    """Put back each Ingress's saved rules; return the names restored. Idempotent."""
    return [name for name, rules in sorted(routes.items()) if _patch_rules(api, namespace, name, rules)]
