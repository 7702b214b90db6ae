"""What the cluster says right now about an environment: workloads ready/desired and recent events."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from clusters import kubeclient
from portal.redaction import redact

from .models import Environment


def live_status(environment: Environment, *, events: int = 15) -> dict[str, Any]:
    """Never raises: an unreachable cluster is reported in ``error`` for the page to show."""
    try:
        with kubeclient.api_client(environment.cluster.kubeconfig) as api:
            apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
            ns = environment.namespace
            workloads = [
                {"kind": kind, "name": w.metadata.name, "ready": w.status.ready_replicas or 0,
                 "desired": w.spec.replicas or 0,
                 "image": ", ".join(c.image for c in w.spec.template.spec.containers)}
                for kind, items in (("Deployment", apps.list_namespaced_deployment(ns, _request_timeout=5).items),
                                    ("StatefulSet", apps.list_namespaced_stateful_set(ns, _request_timeout=5).items))
                for w in items
            ]
            recent = sorted(core.list_namespaced_event(ns, _request_timeout=5).items,
                            key=lambda e: e.last_timestamp or e.event_time or e.metadata.creation_timestamp,
                            reverse=True)[:events]
    except Exception as exc:  # shown on the page instead of failing it
        return {"error": redact(f"{type(exc).__name__}: {exc}")[:300], "workloads": [], "events": []}
    return {"error": "", "workloads": sorted(workloads, key=lambda w: w["name"]), "events": [
        {"type": e.type, "reason": e.reason, "object": f"{e.involved_object.kind}/{e.involved_object.name}",
         "message": e.message, "when": e.last_timestamp or e.event_time} for e in recent]}
