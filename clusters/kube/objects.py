"""Shared plumbing for the Kubernetes engine: object keys, the cached dynamic client, error text."""

from __future__ import annotations

import json
import threading
import weakref
from typing import Any

from kubernetes import client
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import ResourceNotFoundError
from kubernetes.dynamic.resource import Resource

ObjectKey = tuple[str, str, str, str]
"""(apiVersion, kind, namespace, name); namespace is "" for cluster-scoped objects."""

_dynamic_clients: weakref.WeakKeyDictionary[client.ApiClient, DynamicClient] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def object_key(manifest: dict[str, Any]) -> ObjectKey:
    """The identity of a manifest or live object (as a plain dict)."""
    meta = manifest.get("metadata") or {}
    return (manifest.get("apiVersion", ""), manifest.get("kind", ""), meta.get("namespace") or "", meta.get("name", ""))


def api_group(api_version: str) -> str:
    """The API group of an apiVersion ("" for the core group): objects are the same across versions."""
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def dynamic_client(api: client.ApiClient) -> DynamicClient:
    """One DynamicClient per ApiClient, so discovery runs once per client.

    The DynamicClient holds only a weak proxy to ``api``: a strong reference from the cached value
    would keep the WeakKeyDictionary entry (and the ApiClient) alive forever.
    """
    with _lock:
        dyn = _dynamic_clients.get(api)
        if dyn is None:
            dyn = DynamicClient(weakref.proxy(api))
            _dynamic_clients[api] = dyn
        return dyn


def resource_for(api: client.ApiClient, api_version: str, kind: str) -> Resource:
    """The discovered API resource; raises kubernetes.dynamic.exceptions.ResourceNotFoundError."""
    return dynamic_client(api).resources.get(api_version=api_version, kind=kind)


def error_message(exc: BaseException) -> str:
    """A one-line human message for an API error (the server's Status message when there is one)."""
    body = getattr(exc, "body", None)
    if body:
        try:
            message = json.loads(body).get("message")
        except (ValueError, AttributeError):
            message = None
        if message:
            return f"{getattr(exc, 'status', '')} {message}".strip()
    status, reason = getattr(exc, "status", None), getattr(exc, "reason", None)
    if status or reason:
        return f"{status or ''} {reason or ''}".strip()
    return f"{type(exc).__name__}: {exc}"


def unwanted_objects(api: client.ApiClient, *, namespace: str, selector: str,
                     kinds: list[tuple[str, str]], keep: set[ObjectKey]):
    """Yield ``(api_version, kind, resource, item)`` for each object matching ``selector`` that is not
    in ``keep`` (compared by API group), not already terminating and not owned by a controller.
    Kinds the server does not serve are skipped. Shared by prune and drift's "extra" detection."""
    kept = {(api_group(v), k, ns, n) for v, k, ns, n in keep}
    dyn = dynamic_client(api)
    for api_version, kind in kinds:
        try:
            resource = resource_for(api, api_version, kind)
        except ResourceNotFoundError:
            continue
        items = dyn.get(resource, namespace=namespace, label_selector=selector).to_dict().get("items") or []
        for item in items:
            meta = item["metadata"]
            if meta.get("deletionTimestamp") or any(r.get("controller") for r in meta.get("ownerReferences") or []):
                continue
            if (api_group(api_version), kind, namespace, meta["name"]) not in kept:
                yield api_version, kind, resource, item
