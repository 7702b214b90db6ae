"""What Slipway needs to be allowed to do in a cluster, and checking a credential against it.

Each permission is asked with a SelfSubjectAccessReview across all namespaces (Slipway creates
the namespaces it deploys into), so the answer is the API server's own authorizer: RBAC, webhook
or anything else the cluster runs.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from kubernetes import client

MANAGE = ("get", "list", "watch", "create", "update", "patch", "delete")
READ = ("get", "list", "watch")


@dataclass(frozen=True)
class Permission:
    verb: str
    resource: str
    group: str = ""
    subresource: str = ""
    cluster_scoped: bool = False

    def __str__(self) -> str:
        what = f"{self.group}/{self.resource}" if self.group else self.resource
        if self.subresource:
            what += f"/{self.subresource}"
        return f"{self.verb} {what}"


def _each(verbs: tuple[str, ...], resource: str, group: str = "", **extra: Any) -> list[Permission]:
    return [Permission(verb, resource, group, **extra) for verb in verbs]


# Why each is needed: namespaces per environment; the kinds an environment renders (server-side
# apply = patch, prune = delete); events, pods and their logs for the live view, log streaming
# and chaos; nodes for health.
REQUIRED: list[Permission] = [
    *_each(MANAGE, "namespaces", cluster_scoped=True),
    *_each(MANAGE, "deployments", "apps"),
    *_each(MANAGE, "statefulsets", "apps"),
    *_each(MANAGE, "ingresses", "networking.k8s.io"),
    *_each(MANAGE, "networkpolicies", "networking.k8s.io"),
    *_each(MANAGE, "horizontalpodautoscalers", "autoscaling"),
    *_each(MANAGE, "services"),
    *_each(MANAGE, "configmaps"),
    *_each(MANAGE, "secrets"),
    *_each(MANAGE, "serviceaccounts"),
    *_each(MANAGE, "resourcequotas"),
    *_each(MANAGE, "limitranges"),
    *_each(READ, "events"),
    *_each((*READ, "delete"), "pods"),
    Permission("get", "pods", subresource="log"),
    *_each(READ, "replicasets", "apps"),
    *_each(("get", "list"), "nodes", cluster_scoped=True),
]


# What chaos experiments need beyond REQUIRED (clusters/kube/chaos_faults.py, steady_state.py):
# scaling a StatefulSet, following EndpointSlices, failing and restoring a node. Checked before an
# experiment runs rather than at registration: a cluster that never runs one need not grant them.
CHAOS_REQUIRED: list[Permission] = [
    *_each(("get", "patch"), "statefulsets", "apps", subresource="scale"),
    *_each(READ, "endpointslices", "discovery.k8s.io"),
    *_each(READ, "services"),
    *_each(READ, "pods"),
    *_each(("get", "patch"), "nodes", cluster_scoped=True),
    Permission("patch", "nodes", subresource="status", cluster_scoped=True),
]


def missing_permissions(api: client.ApiClient, required: list[Permission] = REQUIRED, *,
                        timeout: float = 10.0) -> list[Permission]:
    """The required permissions the API client's identity lacks, in ``required`` order. Raises on API errors.

    The reviews run a few at a time: about a hundred round trips to a remote cluster would
    otherwise take seconds.
    """
    authz = client.AuthorizationV1Api(api)

    def allowed(permission: Permission) -> bool:
        attributes = client.V1ResourceAttributes(verb=permission.verb, group=permission.group,
                                                 resource=permission.resource,
                                                 subresource=permission.subresource or None)
        review = authz.create_self_subject_access_review(
            client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(
                resource_attributes=attributes)), _request_timeout=timeout)
        return bool(review.status.allowed)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(allowed, required))
    return [permission for permission, ok in zip(required, answers, strict=True) if not ok]


def describe_missing(missing: list[Permission]) -> str:
    """One line per resource: "apps/deployments: create, delete" (cluster-wide, all namespaces)."""
    by_resource: dict[str, list[str]] = {}
    for permission in missing:
        what = f"{permission.group}/{permission.resource}" if permission.group else permission.resource
        if permission.subresource:
            what += f"/{permission.subresource}"
        by_resource.setdefault(what, []).append(permission.verb)
    return "; ".join(f"{what}: {', '.join(verbs)}" for what, verbs in by_resource.items())
