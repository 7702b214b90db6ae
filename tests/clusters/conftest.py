"""Fixtures for cluster tests against the stack's control plane: a restricted ServiceAccount token."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s

from clusters.kube import rbac as access

# What the restricted identity is granted, cluster-wide; everything else in REQUIRED must be reported.
GRANTED_RULES = [
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": list(access.MANAGE)},
    {"apiGroups": [""], "resources": ["configmaps", "nodes"], "verbs": ["get", "list"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
]


def granted(permission: access.Permission) -> bool:
    resource = f"{permission.resource}/{permission.subresource}" if permission.subresource else permission.resource
    return any(permission.group in r["apiGroups"] and resource in r["resources"] and permission.verb in r["verbs"]
               for r in GRANTED_RULES)


def stack_cluster(kubeconfig_path: str) -> dict[str, str]:
    cluster = yaml.safe_load(Path(kubeconfig_path).read_text())["clusters"][0]["cluster"]
    return {"server": cluster["server"], "ca_data": cluster["certificate-authority-data"]}


@pytest.fixture
def restricted_token(kube_client, kube_namespace):
    """A ServiceAccount token (TokenRequest API) bound to a ClusterRole holding GRANTED_RULES only."""
    rbac, core = k8s.RbacAuthorizationV1Api(kube_client), k8s.CoreV1Api(kube_client)
    name = f"t-restricted-{uuid.uuid4().hex[:8]}"
    core.create_namespaced_service_account(kube_namespace, k8s.V1ServiceAccount(metadata=k8s.V1ObjectMeta(name=name)))
    rbac.create_cluster_role({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                              "metadata": {"name": name}, "rules": GRANTED_RULES})
    rbac.create_cluster_role_binding({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": kube_namespace}]})
    token = core.create_namespaced_service_account_token(name, kube_namespace, k8s.AuthenticationV1TokenRequest(
        spec=k8s.V1TokenRequestSpec(audiences=[], expiration_seconds=600))).status.token
    yield token
    rbac.delete_cluster_role_binding(name)
    rbac.delete_cluster_role(name)


def wait_until_rbac_sees_the_binding(server: str, ca_data: str, token: str) -> None:
    """The RBAC authorizer reads bindings from an informer: wait (bounded) until the new one is visible."""
    from clusters.kube import client as kubeclient

    kubeconfig = kubeclient.kubeconfig_from_token(server=server, ca_data=ca_data, token=token)
    with kubeclient.api_client(kubeconfig) as api:
        for _ in range(50):
            if not access.missing_permissions(api, [access.Permission("list", "namespaces", cluster_scoped=True)]):
                return
            time.sleep(0.2)
    pytest.fail("the restricted role binding never took effect")
