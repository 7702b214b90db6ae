"""What the cluster says right now about a namespace's workloads, and its recent events."""

from __future__ import annotations

from typing import Any

from kubernetes import client


def workload_status(api: client.ApiClient, namespace: str, *, events: int = 15,
                    timeout: float = 5) -> dict[str, list[dict[str, Any]]]:
    """``{"workloads": [...], "events": [...]}`` for the environment page. Read-only; raises API errors.

    Workloads (Deployments, then StatefulSets, sorted by name) carry kind, name, ready and desired
    replicas and their images; events are the ``events`` most recent, newest first.
    """
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    workloads = [
        {"kind": kind, "name": w.metadata.name, "ready": w.status.ready_replicas or 0,
         "desired": w.spec.replicas or 0,
         "image": ", ".join(c.image for c in w.spec.template.spec.containers)}
        for kind, items in (("Deployment", apps.list_namespaced_deployment(namespace, _request_timeout=timeout).items),
                            ("StatefulSet", apps.list_namespaced_stateful_set(namespace,
                                                                              _request_timeout=timeout).items))
        for w in items
    ]
    recent = sorted(core.list_namespaced_event(namespace, _request_timeout=timeout).items,
                    key=lambda e: e.last_timestamp or e.event_time or e.metadata.creation_timestamp,
                    reverse=True)[:events]
    return {"workloads": sorted(workloads, key=lambda w: w["name"]), "events": [
        {"type": e.type, "reason": e.reason, "object": f"{e.involved_object.kind}/{e.involved_object.name}",
         "message": e.message, "when": e.last_timestamp or e.event_time} for e in recent]}
