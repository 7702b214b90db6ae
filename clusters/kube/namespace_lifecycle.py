"""Deleting an environment's namespace, and explaining why a namespace will not go away."""

from __future__ import annotations

import math
import time
from typing import Any, Literal

from kubernetes import client, watch
from kubernetes.client.rest import ApiException
from kubernetes.dynamic.exceptions import DynamicApiError
from kubernetes.dynamic.resource import Resource, ResourceList
from urllib3.exceptions import ProtocolError, ReadTimeoutError

from .objects import dynamic_client
from .owner_labels import ENVIRONMENT, MANAGED_BY, MANAGED_BY_SLIPWAY, OWNER_MARKER

# Kinds listed in full when a namespace is stuck; objects of any other kind are listed only when
# they carry finalizers (the usual reason a namespace cannot finish terminating).
COMMON_KINDS = {"Pod", "Deployment", "StatefulSet", "Service", "ConfigMap", "Secret", "PersistentVolumeClaim"}
MAX_LISTED = 25


class NamespaceNotOurs(Exception):
    """The namespace exists but carries another owner's marker, or none: Slipway will not apply into
    it or delete it. The message says whose it is, for people."""


def check_namespace_owner(api: client.ApiClient, name: str, *, marker: str, environment: str) -> None:
    """Raise NamespaceNotOurs unless namespace ``name`` is missing or belongs to ``marker``.

    A namespace made before markers existed is accepted when Slipway's own labels name this
    environment (``managed-by=slipway``, ``slipway.io/environment=<environment>``); the next apply
    stamps the marker on it.
    """
    try:
        meta = client.CoreV1Api(api).read_namespace(name).metadata
    except ApiException as exc:
        if exc.status == 404:
            return
        raise
    holder = (meta.annotations or {}).get(OWNER_MARKER)
    if holder == marker:
        return
    if holder:
        raise NamespaceNotOurs(f"namespace {name} belongs to {holder} (annotation {OWNER_MARKER}); Slipway will "
                               "not apply into or delete another owner's namespace.")
    labels = meta.labels or {}
    if labels.get(MANAGED_BY) == MANAGED_BY_SLIPWAY and labels.get(ENVIRONMENT) == environment:
        return
    raise NamespaceNotOurs(f"namespace {name} exists without Slipway's ownership marker ({OWNER_MARKER}); Slipway "
                           "will not apply into or delete a namespace it did not create.")


class NamespaceStuck(Exception):
    """The namespace still exists after the timeout; the message says what holds it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def delete_namespace(api: client.ApiClient, name: str, *, timeout: float,
                     propagation: Literal["Background", "Foreground"] = "Background") -> None:
    """Delete the namespace and return once it is gone (watched, not polled).

    Idempotent: a namespace that does not exist is a no-op, and one already terminating is simply
    waited for. Raises NamespaceStuck (with ``describe_namespace``) when it still exists after
    ``timeout`` seconds, and the API error for anything but 404/409 on the delete call.
    """
    core = client.CoreV1Api(api)
    started = time.monotonic()
    try:
        core.delete_namespace(name, propagation_policy=propagation)
    except ApiException as exc:
        if exc.status == 404:
            return
        if exc.status != 409:  # 409: the namespace is already being deleted
            raise
    if not _wait_gone(core, name, started + timeout):
        raise NamespaceStuck(describe_namespace(api, name, waited=time.monotonic() - started))


def _wait_gone(core: client.CoreV1Api, name: str, deadline: float) -> bool:
    selector = f"metadata.name={name}"
    while (remaining := deadline - time.monotonic()) > 0:
        listing = core.list_namespace(field_selector=selector, _request_timeout=30)
        if not listing.items:
            return True
        w = watch.Watch()
        try:
            for event in w.stream(core.list_namespace, field_selector=selector,
                                  resource_version=listing.metadata.resource_version,
                                  timeout_seconds=math.ceil(remaining), _request_timeout=(10, remaining + 30)):
                if event["type"] == "DELETED":
                    w.stop()
                    return True
        except ApiException as exc:
            if exc.status != 410:  # 410 Gone: list again from a fresh resourceVersion
                raise
        except (ProtocolError, ReadTimeoutError):
            pass
    return False


def remaining_objects(api: client.ApiClient, namespace: str) -> list[str]:
    """"Kind/name" of what is left in the namespace (common kinds, and anything with finalizers),
    each with its finalizers. Read-only; kinds that cannot be listed are skipped."""
    dyn = dynamic_client(api)
    found: list[str] = []
    # Iterating the discoverer yields, per group version and kind, a list of resources.
    resources = [r for entry in dyn.resources for r in (entry if isinstance(entry, list) else [entry])]
    for resource in resources:
        if (isinstance(resource, ResourceList) or not isinstance(resource, Resource) or not resource.preferred
                or not resource.namespaced or "list" not in (resource.verbs or []) or resource.kind == "Event"):
            continue
        try:
            items = dyn.get(resource, namespace=namespace).to_dict().get("items") or []
        except DynamicApiError:
            continue
        for item in items:
            meta: dict[str, Any] = item.get("metadata") or {}
            finalizers = meta.get("finalizers") or []
            if resource.kind in COMMON_KINDS or finalizers:
                held = f" (finalizers: {', '.join(finalizers)})" if finalizers else ""
                terminating = " terminating" if meta.get("deletionTimestamp") else ""
                found.append(f"{resource.kind}/{meta.get('name')}{terminating}{held}")
    return sorted(found)


def describe_namespace(api: client.ApiClient, name: str, *, waited: float | None = None) -> str:
    """Why the namespace still exists: its conditions, its finalizers and the objects left in it."""
    try:
        ns = client.CoreV1Api(api).read_namespace(name)
    except ApiException as exc:
        if exc.status == 404:
            return f"namespace {name} is gone"
        raise
    after = f" after {waited:.0f}s" if waited is not None else ""
    lines = [f"namespace {name} still exists{after} (phase {ns.status and ns.status.phase})"]
    lines += [f"{c.type}: {c.message}" for c in (ns.status and ns.status.conditions) or [] if c.status == "True"]
    if ns.spec and ns.spec.finalizers:
        lines.append(f"namespace finalizers: {', '.join(ns.spec.finalizers)}")
    if ns.metadata.finalizers:
        lines.append(f"metadata finalizers: {', '.join(ns.metadata.finalizers)}")
    objects = remaining_objects(api, name)
    if objects:
        shown = objects[:MAX_LISTED]
        more = f" and {len(objects) - MAX_LISTED} more" if len(objects) > MAX_LISTED else ""
        lines.append(f"remaining objects: {', '.join(shown)}{more}")
    return "; ".join(lines)
