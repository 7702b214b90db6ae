"""The namespace and the guard rails inside it: quota, default limits, network isolation, identity."""

from __future__ import annotations

from clusters.kube.owner_labels import OWNER_MARKER

from .labels import OWNER, STAGE, TEAM, base_labels, metadata, sanitize_label_value
from .spec import EnvironmentSpec

# Container defaults for anything that does not declare resources (e.g. an init container added
# by a mutating webhook): without them the ResourceQuota on requests/limits rejects such pods.
# They match ComponentSpec's defaults so a bare component and a defaulted container size alike.
DEFAULT_REQUEST = {"cpu": "100m", "memory": "128Mi"}
DEFAULT_LIMIT = {"cpu": "500m", "memory": "512Mi"}


def service_account_name(spec: EnvironmentSpec) -> str:
    return f"{spec.name}-app"


def render_namespace(spec: EnvironmentSpec) -> list[dict]:
    """Namespace, ResourceQuota, LimitRange, NetworkPolicy and the workloads' ServiceAccount."""
    return [
        _namespace(spec),
        _resource_quota(spec),
        _limit_range(spec),
        _network_policy(spec),
        _service_account(spec),
    ]


def _namespace(spec: EnvironmentSpec) -> dict:
    labels = {
        **base_labels(spec),
        TEAM: sanitize_label_value(spec.team),
        OWNER: sanitize_label_value(spec.owner),
        STAGE: spec.stage,
    }
    # The label is lossy (e-mail "@" becomes "-"); the annotation keeps the owner as entered.
    annotations = {OWNER: spec.owner}
    if spec.owner_marker:
        annotations[OWNER_MARKER] = spec.owner_marker
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": spec.namespace, "labels": labels, "annotations": annotations},
    }


def _resource_quota(spec: EnvironmentSpec) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": metadata(spec, "quota"),
        "spec": {
            "hard": {
                "requests.cpu": spec.quota_cpu,
                "requests.memory": spec.quota_memory,
                "limits.cpu": spec.quota_cpu_limit or spec.quota_cpu,
                "limits.memory": spec.quota_memory_limit or spec.quota_memory,
                # A string: the canonical form of a quantity, and what the API server returns.
                "pods": str(spec.quota_pods),
            }
        },
    }


def _limit_range(spec: EnvironmentSpec) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": metadata(spec, "defaults"),
        "spec": {
            "limits": [
                {"type": "Container", "default": dict(DEFAULT_LIMIT), "defaultRequest": dict(DEFAULT_REQUEST)}
            ]
        },
    }


def _network_policy(spec: EnvironmentSpec) -> dict:
    # Pods of other environments (and other teams) must not reach this one; only this namespace
    # and the ingress controller may. Egress stays open: apps call external APIs and AWS.
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(spec, "deny-cross-namespace"),
        "spec": {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [{"podSelector": {}}]},
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": spec.ingress_controller_namespace}
                            }
                        }
                    ]
                },
            ],
        },
    }


def _service_account(spec: EnvironmentSpec) -> dict:
    # Application pods do not talk to the Kubernetes API; not mounting a token means a
    # compromised app has no credentials to use against the cluster.
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata(spec, service_account_name(spec)),
        "automountServiceAccountToken": False,
    }
