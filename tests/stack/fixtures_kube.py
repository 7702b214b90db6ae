"""pytest fixtures for the local Kubernetes cluster (tests/stack/kube.py).

``kube_namespace`` gives every test its own namespace, so tests can run in any order and leave
nothing behind that another test could see.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes import config, watch
from kubernetes.client.rest import ApiException

from .fixtures import stack_up


@pytest.fixture(scope="session")
def kubeconfig_path() -> str:
    """Path of a kubeconfig for the stack's cluster (started on first use)."""
    return stack_up("kube")["KUBECONFIG"]


@pytest.fixture(scope="session")
def kube_client(kubeconfig_path: str) -> Iterator[k8s.ApiClient]:
    client = config.new_client_from_config(config_file=kubeconfig_path)
    yield client
    client.close()


@pytest.fixture
def kube_namespace(kube_client: k8s.ApiClient, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace named after the test; deleted (with everything in it) afterwards."""
    core = k8s.CoreV1Api(kube_client)
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"t-{slug}-{uuid.uuid4().hex[:6]}"
    core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(
        name=name, labels={"slipway.test/namespace": "true"})))
    # The ServiceAccount admission plugin rejects pods until the controller-manager has created
    # the namespace's "default" service account, exactly as on a real cluster.
    w = watch.Watch()
    for event in w.stream(core.list_namespaced_service_account, name, field_selector="metadata.name=default",
                          timeout_seconds=30):
        if event["type"] in {"ADDED", "MODIFIED"}:
            w.stop()
            break
    else:
        pytest.fail(f"namespace {name}: no default service account after 30s")
    yield name
    try:
        core.delete_namespace(name, propagation_policy="Background")
    except ApiException as exc:
        if exc.status != 404:
            raise
    # Pod log files written with tests.stack.pod_logs.append_pod_log for this namespace.
    shutil.rmtree(Path(stack_up("kube")["SLIPWAY_KWOK_LOGS_DIR"]) / name, ignore_errors=True)
