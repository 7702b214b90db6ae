"""Pod logs on the local control plane: kwok serves each container's log from a file this module writes.

kwok cannot template a log path per pod, so each pod whose logs a test (or `make run`'s demo) writes
gets its own kwok `Logs` object (named like the pod, in its namespace) pointing at
<logs root>/<namespace>/<pod>/<container>.log. Every other pod falls back to the cluster-wide
`ClusterLogs` default, an empty file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from kubernetes import client as k8s
from kubernetes import watch
from kubernetes.client import ApiClient
from kubernetes.client.rest import ApiException

from .control_plane import KWOK_GROUP, KWOK_VERSION, api_client, logs_dir, wait_until
from .process import Context, StackError


def pod_log_path(logs_root: Path, namespace: str, pod: str, container: str, *, previous: bool = False) -> Path:
    """The CRI log file kwok serves for one container (``previous`` is what `logs --previous` reads)."""
    return logs_root / namespace / pod / f"{container}{'.previous' if previous else ''}.log"


def _cri_lines(text: str, stream: str) -> str:
    # CRI log format, as kubelet/containerd write it: "<RFC3339Nano> <stream> F <line>".
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return "".join(f"{stamp} {stream} F {line}\n" for line in text.splitlines() or [""])


def register_pod_log(namespace: str, pod: str, container: str, *, ctx: Context | None = None,
                     client: ApiClient | None = None, logs_root: Path | None = None, timeout: float = 10.0) -> Path:
    """Make kwok serve ``container``'s logs of ``pod`` from its own file; returns the file.

    Idempotent. When the pod is already bound to a node this waits until the log endpoint really
    serves the new file (kwok picks up Logs objects through a watch, so there is a short lag).
    Another cluster than the stack's (`make run`'s) is named by ``client`` and ``logs_root``.
    """

    ctx = ctx or Context.default()
    own_client = client is None
    api = client or api_client(ctx)
    root = logs_root or logs_dir(ctx)
    try:
        path = pod_log_path(root, namespace, pod, container)
        previous = pod_log_path(root, namespace, pod, container, previous=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        previous.touch()
        entry = {"containers": [container], "logsFile": str(path), "previousLogsFile": str(previous),
                 "follow": True}
        custom = k8s.CustomObjectsApi(api)
        args = (KWOK_GROUP, KWOK_VERSION, namespace, "logs", pod)
        try:
            current = custom.get_namespaced_custom_object(*args)
        except ApiException as exc:
            if exc.status != 404:
                raise
            custom.create_namespaced_custom_object(*args[:4], {
                "apiVersion": f"{KWOK_GROUP}/{KWOK_VERSION}", "kind": "Logs",
                "metadata": {"name": pod, "namespace": namespace}, "spec": {"logs": [entry]}})
        else:
            if any(container in e.get("containers", []) for e in current["spec"]["logs"]):
                return path
            current["spec"]["logs"].append(entry)  # resourceVersion is kept: a race gives 409
            custom.replace_namespaced_custom_object(*args, current)
        core = k8s.CoreV1Api(api)
        try:
            bound = bool(core.read_namespaced_pod(pod, namespace).spec.node_name)
        except ApiException:
            bound = False
        if bound:
            # The cluster-wide default has no previous-logs file, so `previous` reads fail until
            # kwok serves this pod's own Logs object, and succeed (empty) once it does.
            wait_until(f"logs of {namespace}/{pod}/{container}", lambda: core.read_namespaced_pod_log(
                pod, namespace, container=container, previous=True) is not None, timeout)
        return path
    finally:
        if own_client:
            api.close()


def append_pod_log(namespace: str, pod: str, container: str, text: str, *, stream: str = "stdout",
                   previous: bool = False, ctx: Context | None = None, client: ApiClient | None = None,
                   logs_root: Path | None = None) -> Path:
    """Append ``text`` (one or more lines) to a container's log as served by the API server.

    The first call for a container registers its log file with kwok (register_pod_log); followers
    (`kubectl logs -f`, read_namespaced_pod_log(follow=True)) see the new lines immediately.
    """
    path = register_pod_log(namespace, pod, container, ctx=ctx, client=client, logs_root=logs_root)
    if previous:
        path = pod_log_path(path.parents[2], namespace, pod, container, previous=True)
    with path.open("a") as log:  # one write per call: a follower never sees half a batch
        log.write(_cri_lines(text, stream))
    return path


def start_pod(client: ApiClient, namespace: str, name: str, container: str, *, labels: dict[str, str] | None = None,
              register_log: bool = True, timeout: int = 60) -> None:
    """Create a bare pod with one container named ``container`` and wait until kwok runs it.

    With ``register_log`` the container's log file is registered before the pod exists, so a
    follower that joins as soon as the pod starts already reads the pod's own file; without it the
    pod gets kwok's default, empty log until someone registers one. Raises StackError when the pod
    is not running within ``timeout`` seconds.
    """

    if register_log:
        register_pod_log(namespace, name, container, client=client)
    core = k8s.CoreV1Api(client)
    core.create_namespaced_pod(namespace, k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name=name, labels=labels or {}),
        spec=k8s.V1PodSpec(containers=[k8s.V1Container(name=container, image="example.test/app:1")])))
    w = watch.Watch()
    for event in w.stream(core.list_namespaced_pod, namespace, field_selector=f"metadata.name={name}",
                          timeout_seconds=timeout):
        statuses = event["object"].status.container_statuses or []
        if any(s.state.running for s in statuses):
            w.stop()
            return
    raise StackError(f"pod {namespace}/{name} never ran")
