"""When a workload counts as ready: the one definition rollouts and the blue/green switch share.

A Deployment is ready when its rollout is complete, not merely when enough pods answer: the
controller has seen the latest spec (observedGeneration), and every replica is updated, ready and
available with no old pods left. Otherwise a switch could send traffic to a colour still running
the previous revision's pods.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client


def count(value: int | None) -> int:
    """A status counter as a number: the API server omits counters that are zero."""
    return value or 0


def wanted_replicas(obj: Any) -> int:
    """spec.replicas of a Deployment or StatefulSet (1 when unset, as the API server defaults it)."""
    return obj.spec.replicas if obj.spec.replicas is not None else 1


def deployment_ready(d: client.V1Deployment) -> tuple[bool, str]:
    """Whether the Deployment's rollout is complete (no old pods left), and a short summary."""
    want, s = wanted_replicas(d), d.status or client.V1DeploymentStatus()
    ready = (count(s.observed_generation) >= count(d.metadata.generation) and count(s.updated_replicas) == want
             and count(s.ready_replicas) == want and count(s.available_replicas) == want
             and count(s.replicas) == want)
    summary = f"{d.metadata.name} {count(s.ready_replicas)}/{want} ready"
    if not ready and count(s.updated_replicas) < want:
        summary += f" ({count(s.updated_replicas)} updated)"
    elif not ready and count(s.replicas) > want:
        summary += f" ({count(s.replicas) - want} old pods remaining)"
    return ready, summary


def statefulset_ready(s: client.V1StatefulSet) -> tuple[bool, str]:
    """Whether the StatefulSet is fully ready on its update revision, and a short summary."""
    want, st = wanted_replicas(s), s.status or client.V1StatefulSetStatus(replicas=0)
    ready = (count(st.observed_generation) >= count(s.metadata.generation) and count(st.ready_replicas) == want
             and st.current_revision == st.update_revision)
    summary = f"{s.metadata.name} {count(st.ready_replicas)}/{want} ready"
    if not ready and st.current_revision != st.update_revision:
        summary += " (updating)"
    return ready, summary


def deployments_readiness(api: client.ApiClient, namespace: str, *, selector: str) -> dict[str, tuple[bool, str]]:
    """Each Deployment in ``namespace`` matching ``selector``: ``deployment_ready``'s answer, by name.

    Read-only; raises the API error when the Deployments cannot be listed.
    """
    listing = client.AppsV1Api(api).list_namespaced_deployment(namespace, label_selector=selector)
    return {d.metadata.name: deployment_ready(d) for d in listing.items}
