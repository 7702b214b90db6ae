"""Server-side apply of rendered manifests, and pruning of what the manifests no longer contain.

Every object is applied with one field manager and ``force``, so Slipway owns the fields it
renders and a re-run after a crash converges to the same objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from kubernetes import client
from kubernetes.dynamic.exceptions import DynamicApiError, NotFoundError, ResourceNotFoundError

from .objects import ObjectKey, dynamic_client, error_message, object_key, resource_for, unwanted_objects

Action = Literal["created", "configured", "unchanged", "failed", "deleted"]

PRUNABLE_KINDS: list[tuple[str, str]] = [
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "Service"),
    ("v1", "ServiceAccount"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("networking.k8s.io/v1", "Ingress"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("v1", "ResourceQuota"),
    ("v1", "LimitRange"),
]
"""The kinds an environment renders, in the order prune visits them."""

# Metadata the API server changes on every write, whether or not the applied content changed.
_BOOKKEEPING = {"resourceVersion", "managedFields", "generation"}


@dataclass(frozen=True)
class ApplyResult:
    key: ObjectKey
    action: Action
    error: str = ""  # a human message when action == "failed"


class ApplyFailed(Exception):
    """Some objects could not be applied; ``results`` holds every result, ``str()`` the failures."""

    def __init__(self, results: list[ApplyResult]) -> None:
        self.results = results
        failed = [r for r in results if r.error]
        lines = [f"{r.key[1]}/{r.key[3]}{f' in {r.key[2]}' if r.key[2] else ''}: {r.error}" for r in failed]
        super().__init__(f"{len(failed)} of {len(results)} objects failed to apply: " + "; ".join(lines))


def raise_for_errors(results: Iterable[ApplyResult]) -> None:
    """Raise ApplyFailed when any result carries an error; otherwise return None."""
    results = list(results)
    if any(r.error for r in results):
        raise ApplyFailed(results)


def _apply_one(api: client.ApiClient, manifest: dict[str, Any], resource: Any, *, field_manager: str,
               force: bool) -> ApplyResult:
    key = object_key(manifest)
    dyn = dynamic_client(api)
    namespace = key[2] or None
    if resource.namespaced and not namespace:
        return ApplyResult(key, "failed", f"{key[1]} is namespaced but metadata.namespace is empty")
    if not resource.namespaced:
        namespace = None
    try:
        try:
            before = dyn.get(resource, name=key[3], namespace=namespace).to_dict()
        except NotFoundError:
            before = None
        after = dyn.server_side_apply(resource, body=manifest, namespace=namespace, field_manager=field_manager,
                                      force_conflicts=force).to_dict()
    except DynamicApiError as exc:
        return ApplyResult(key, "failed", error_message(exc))
    except ValueError as exc:  # raised by the dynamic client for a manifest without a name
        return ApplyResult(key, "failed", str(exc))
    if before is None:
        return ApplyResult(key, "created")
    return ApplyResult(key, "unchanged" if _same(before, after) else "configured")


def _same(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether an apply left the object as it was.

    The API server skips the write (keeping the resourceVersion) when an apply changes nothing;
    when the versions differ, a controller may have written status in between, so compare the
    content without status and bookkeeping.
    """
    if before["metadata"].get("resourceVersion") == after["metadata"].get("resourceVersion"):
        return True

    def content(obj: dict[str, Any]) -> dict[str, Any]:
        meta = {k: v for k, v in obj["metadata"].items() if k not in _BOOKKEEPING}
        return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": meta}

    return content(before) == content(after)



def apply_manifests(api: client.ApiClient, manifests: list[dict[str, Any]], *, field_manager: str = "slipway",
                    force: bool = True) -> list[ApplyResult]:
    """Server-side apply every manifest and report what happened to each.

    Order: Namespaces first, then other cluster-scoped objects, then namespaced ones, each group in
    the given order; results come back in that order. Idempotent: re-applying the same manifests
    reports "unchanged". Never raises for a single object's failure (unknown kind, validation,
    admission, conflict without ``force``): its result has action "failed" and an ``error``; call
    ``raise_for_errors`` to turn those into an exception. Connection errors do raise.
    """
    planned: list[tuple[int, int, dict[str, Any], Any]] = []
    results: dict[int, ApplyResult] = {}
    for index, manifest in enumerate(manifests):
        try:
            resource = resource_for(api, manifest.get("apiVersion", ""), manifest.get("kind", ""))
        except ResourceNotFoundError:
            results[index] = ApplyResult(object_key(manifest), "failed",
                                         f"the server does not serve {manifest.get('kind')!r} in "
                                         f"{manifest.get('apiVersion')!r}")
            planned.append((2, index, manifest, None))
            continue
        rank = 0 if manifest.get("kind") == "Namespace" else 1 if not resource.namespaced else 2
        planned.append((rank, index, manifest, resource))
    ordered: list[ApplyResult] = []
    for _, index, manifest, resource in sorted(planned, key=lambda p: (p[0], p[1])):
        if index not in results:
            results[index] = _apply_one(api, manifest, resource, field_manager=field_manager, force=force)
        ordered.append(results[index])
    return ordered


def prune(api: client.ApiClient, *, namespace: str, selector: str, keep: set[ObjectKey],
          kinds: list[tuple[str, str]] = PRUNABLE_KINDS) -> list[ObjectKey]:
    """Delete objects of ``kinds`` in ``namespace`` that match ``selector`` and are not in ``keep``.

    Only objects carrying the selector's labels are candidates, never objects controlled by another
    object (ownerReferences with controller=true) or already being deleted. ``keep`` is compared by
    API group, so an object kept as autoscaling/v1 is not pruned when listed as autoscaling/v2.
    Deletion uses propagationPolicy=Background and a UID precondition (an object re-created
    meanwhile is left alone). Returns the keys it deleted; idempotent (a second call returns []).
    Kinds the server does not serve are skipped. Raises ValueError for an empty selector and the
    API error for any failure other than "already gone".
    """
    if not selector.strip():
        raise ValueError("prune needs a label selector: an empty one would match every object")
    dyn = dynamic_client(api)
    deleted: list[ObjectKey] = []
    for api_version, kind, resource, item in unwanted_objects(api, namespace=namespace, selector=selector,
                                                              kinds=list(kinds), keep=set(keep)):
        meta = item["metadata"]
        try:
            dyn.delete(resource, name=meta["name"], namespace=namespace,
                       body={"propagationPolicy": "Background", "preconditions": {"uid": meta["uid"]}})
        except DynamicApiError as exc:
            if exc.status in (404, 409):  # gone already, or replaced by a new object with another UID
                continue
            raise
        deleted.append((api_version, kind, namespace, meta["name"]))
    return deleted
