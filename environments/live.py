"""What the cluster says right now about an environment: workloads ready/desired and recent events."""

from __future__ import annotations

from typing import Any

from clusters.kube.client import api_client
from clusters.kube.workload_status import workload_status
from portal.redaction import redact

from .models import Environment


def live_status(environment: Environment, *, events: int = 15) -> dict[str, Any]:
    """Never raises: an unreachable cluster is reported in ``error`` for the page to show."""
    try:
        with api_client(environment.cluster.kubeconfig) as api:
            status = workload_status(api, environment.namespace, events=events)
    except Exception as exc:  # shown on the page instead of failing it
        return {"error": redact(f"{type(exc).__name__}: {exc}")[:300], "workloads": [], "events": []}
    return {"error": "", **status}
