"""Putting an environment's workloads to sleep and waking them: Deployments to zero and back, and the
HorizontalPodAutoscalers that would otherwise fight that.

Every function is idempotent, because the sleep and wake jobs may be killed and re-run at any step:
reading what to save merges with what was saved before (a Deployment already at zero keeps the count
the state row remembers, so a re-run after a crash never saves 0), scaling to a count it already has
changes nothing, and deleting or re-creating an autoscaler that is already gone or back is a no-op.

Autoscalers. An HPA with minReplicas >= 1 and a scale-down fight each other: today's controller stops
acting on a target scaled to zero ("ScalingDisabled"), but the next scale-up by anyone (a person, a
rollout) re-enables it, and its status keeps reporting a target it cannot reach. kube-downscaler instead
rewrites minReplicas and keeps the original in an annotation; that edits an object Slipway renders and
still needs minReplicas 0 (the HPAScaleToZero feature) to really reach zero. Slipway saves each HPA (its
spec, labels and annotations, in the sleep state row) and deletes it; the wake re-creates it with the
same server-side-apply field manager as a rollout, so the next rollout owns it as before.

StatefulSets (the backing services: MariaDB, Redis) stay up unless the blueprint says they may sleep
(``may_sleep``): the caller names those, and they are scaled the same way (saved, to zero after the
Deployments, back BEFORE them on a wake: the applications need their database). Their data stays on their
volumes: the render retains the claims of a StatefulSet that may sleep when it is scaled down
(``environments/render/backing.py``); an emptyDir (clusters without a storage provisioner) lives only as
long as its pod, so there a sleep loses the data.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from .apply import apply_manifests, raise_for_errors
from .readiness import wanted_replicas
from .wait import ProgressCallback, wait_ready

# The fields of an HPA worth saving: everything a re-create needs, nothing the server owns.
_HPA_METADATA = ("name", "namespace", "labels", "annotations")


# How each scaled kind is listed and scaled.
_LIST = {"Deployment": "list_namespaced_deployment", "StatefulSet": "list_namespaced_stateful_set"}
_SCALE = {"Deployment": "patch_namespaced_deployment_scale", "StatefulSet": "patch_namespaced_stateful_set_scale"}


def _replicas(api: client.ApiClient, kind: str, namespace: str, *, selector: str, saved: dict[str, int] | None,
              names: Iterable[str] | None = None) -> dict[str, int]:
    saved, wanted = saved or {}, None if names is None else set(names)
    counts = {}
    for workload in getattr(client.AppsV1Api(api), _LIST[kind])(namespace, label_selector=selector).items:
        name, live = workload.metadata.name, wanted_replicas(workload)
        if wanted is None or name in wanted:
            counts[name] = saved.get(name, live) if live == 0 else live
    return counts


def _scale(api: client.ApiClient, kind: str, namespace: str, name: str, replicas: int) -> bool:
    """Set the workload's scale; False when it does not exist (a component removed meanwhile)."""
    try:
        getattr(client.AppsV1Api(api), _SCALE[kind])(name, namespace, {"spec": {"replicas": replicas}})
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


def _restore(api: client.ApiClient, kind: str, namespace: str, replicas: dict[str, int]) -> list[str]:
    listing = getattr(client.AppsV1Api(api), _LIST[kind])(namespace).items
    live = {w.metadata.name: wanted_replicas(w) for w in listing}
    return [name for name, count in sorted(replicas.items())
            if live.get(name) == 0 and count > 0 and _scale(api, kind, namespace, name, count)]


def deployments_replicas(api: client.ApiClient, namespace: str, *, selector: str,
                         saved: dict[str, int] | None = None) -> dict[str, int]:
    """spec.replicas of each Deployment matching ``selector``, by name (what the sleep saves).

    A Deployment already at zero reports the count in ``saved`` when there is one: it is zero because
    an earlier, interrupted sleep scaled it. Read-only.
    """
    return _replicas(api, "Deployment", namespace, selector=selector, saved=saved)


def deployments_scale_to_zero(api: client.ApiClient, namespace: str, *, selector: str,
                              saved: dict[str, int] | None = None) -> dict[str, int]:
    """Scale every Deployment matching ``selector`` to zero; return the counts before, by name
    (``deployments_replicas``, so an already-zero one reports its saved count). Idempotent."""
    before = deployments_replicas(api, namespace, selector=selector, saved=saved)
    for name in before:
        _scale(api, "Deployment", namespace, name, 0)
    return before


def deployments_restore(api: client.ApiClient, namespace: str, replicas: dict[str, int]) -> list[str]:
    """Scale each named Deployment that is at zero back to its saved count; return the names scaled.

    Only zero ones: a Deployment someone (or a rollout) already scaled keeps its count. A saved name
    that no longer exists is skipped. Idempotent.
    """
    return _restore(api, "Deployment", namespace, replicas)


def statefulsets_replicas(api: client.ApiClient, namespace: str, names: Iterable[str], *, selector: str,
                          saved: dict[str, int] | None = None) -> dict[str, int]:
    """spec.replicas of each StatefulSet matching ``selector`` and named in ``names`` (those whose backing
    service may sleep), by name; one already at zero reports its count in ``saved``, as
    ``deployments_replicas`` does. A name without a StatefulSet (an s3 store, production's managed
    servers) is left out. Read-only."""
    return _replicas(api, "StatefulSet", namespace, selector=selector, saved=saved, names=names)


def statefulsets_scale_to_zero(api: client.ApiClient, namespace: str, replicas: dict[str, int]) -> None:
    """Scale each StatefulSet named in ``replicas`` (``statefulsets_replicas``' answer) to zero. Idempotent;
    one that no longer exists is skipped."""
    for name in sorted(replicas):
        _scale(api, "StatefulSet", namespace, name, 0)


def statefulsets_restore(api: client.ApiClient, namespace: str, replicas: dict[str, int]) -> list[str]:
    """Scale each named StatefulSet that is at zero back to its saved count; return the names scaled. As
    ``deployments_restore``: only zero ones, a missing one skipped. Idempotent."""
    return _restore(api, "StatefulSet", namespace, replicas)


def statefulsets_wait(api: client.ApiClient, namespace: str, statefulsets: Iterable[str], *, timeout: float,
                      on_progress: ProgressCallback | None = None) -> None:
    """Wait (watching) until each named StatefulSet has its spec.replicas pods ready on its update revision
    (at zero: none ready). Raises clusters.kube.wait.RolloutFailed."""
    wait_ready(api, namespace=namespace, deployments=(), statefulsets=sorted(statefulsets), timeout=timeout,
               on_progress=on_progress)


def _hpa_saved_form(hpa: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in hpa["metadata"].items() if k in _HPA_METADATA and v}
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta, "spec": hpa["spec"]}


def autoscalers_saved(api: client.ApiClient, namespace: str, *, selector: str,
                      saved: dict[str, Any] | None = None) -> dict[str, Any]:
    """Each HPA matching ``selector`` as a manifest that re-creates it, by name, plus those in ``saved``
    (already deleted by an interrupted sleep). Read-only."""
    autoscaling = client.AutoscalingV2Api(api)
    listing = autoscaling.list_namespaced_horizontal_pod_autoscaler(namespace, label_selector=selector)
    live = {h.metadata.name: _hpa_saved_form(api.sanitize_for_serialization(h)) for h in listing.items}
    return {**(saved or {}), **live}


def autoscalers_suspend(api: client.ApiClient, namespace: str, *, selector: str,
                        saved: dict[str, Any] | None = None) -> dict[str, Any]:
    """Delete every HPA matching ``selector`` (see the module's docstring for why); return them as
    ``autoscalers_saved`` does, for ``autoscalers_restore``. Idempotent."""
    autoscalers = autoscalers_saved(api, namespace, selector=selector, saved=saved)
    autoscaling = client.AutoscalingV2Api(api)
    for name in autoscalers:
        try:
            autoscaling.delete_namespaced_horizontal_pod_autoscaler(name, namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise
    return autoscalers


def autoscalers_restore(api: client.ApiClient, namespace: str, saved: dict[str, Any]) -> list[str]:
    """Re-create the saved HPAs (server-side apply, Slipway's field manager); return their names.
    Raises clusters.kube.apply.ApplyFailed when one cannot be applied. Idempotent."""
    manifests = [{**m, "metadata": {**m["metadata"], "namespace": namespace}} for m in saved.values()]
    raise_for_errors(apply_manifests(api, manifests))
    return sorted(saved)


def deployments_wait(api: client.ApiClient, namespace: str, deployments: Iterable[str], *, timeout: float,
                     on_progress: ProgressCallback | None = None) -> None:
    """Wait (watching) until each named Deployment has exactly its spec.replicas pods, all ready: for a
    Deployment scaled to zero, until none of its pods is left. Raises clusters.kube.wait.RolloutFailed."""
    wait_ready(api, namespace=namespace, deployments=sorted(deployments), timeout=timeout, on_progress=on_progress)
