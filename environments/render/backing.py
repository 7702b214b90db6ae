"""In-cluster backing services for non-production environments: MariaDB and Redis StatefulSets.

Production environments use managed services (RDS, ElastiCache) and S3 is always AWS, so for those
nothing is rendered here; the application gets their endpoints through its config.
"""

from __future__ import annotations

from dataclasses import dataclass

from .labels import NAME, app_labels, metadata, revision_annotations
from .namespace import service_account_name
from .scheduling import node_failure_tolerations
from .spec import BackingServiceSpec, EnvironmentSpec

PASSWORD_KEY = "password"


@dataclass(frozen=True)
class _Server:
    image: str
    default_version: str
    role: str
    port_name: str
    port: int
    data_path: str
    requests: tuple[tuple[str, str], ...]
    limits: tuple[tuple[str, str], ...]


_SERVERS = {
    "mariadb": _Server("mariadb", "11.4", "database", "mysql", 3306, "/var/lib/mysql",
                       (("cpu", "100m"), ("memory", "256Mi")), (("cpu", "1"), ("memory", "1Gi"))),
    "redis": _Server("redis", "7.2", "cache", "redis", 6379, "/data",
                     (("cpu", "50m"), ("memory", "64Mi")), (("cpu", "500m"), ("memory", "256Mi"))),
}
# Both official images run their server as uid/gid 999; fsGroup makes a fresh volume writable.
_IMAGE_GID = 999


def credentials_secret_name(backing: BackingServiceSpec) -> str:
    return f"{backing.name}-credentials"


def render_backing(spec: EnvironmentSpec, backing: BackingServiceSpec) -> list[dict]:
    """StatefulSet + headless Service (+ credentials Secret) for one backing service, or [] when not in-cluster."""
    server = _SERVERS.get(backing.kind)
    if server is None or not spec.in_cluster_backing:
        return []
    objects = [_stateful_set(spec, backing, server), _service(spec, backing, server)]
    if backing.kind == "mariadb" and backing.password:
        objects.append(_credentials(spec, backing, server))
    return objects


def _credentials(spec: EnvironmentSpec, backing: BackingServiceSpec, server: _Server) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(spec, credentials_secret_name(backing), app_labels(spec, backing.name, server.role)),
        "type": "Opaque",
        "stringData": {PASSWORD_KEY: backing.password},
    }


def _container(backing: BackingServiceSpec, server: _Server) -> dict:
    port = {"tcpSocket": {"port": server.port_name}}
    container: dict = {
        "name": backing.kind,
        "image": f"{server.image}:{backing.version or server.default_version}",
        "ports": [{"name": server.port_name, "containerPort": server.port, "protocol": "TCP"}],
        "readinessProbe": {**port, "periodSeconds": 5},
        "livenessProbe": {**port, "initialDelaySeconds": 30, "periodSeconds": 10, "failureThreshold": 6},
        "resources": {"requests": dict(server.requests), "limits": dict(server.limits)},
        "volumeMounts": [{"name": "data", "mountPath": server.data_path}],
    }
    if backing.kind == "mariadb":
        # Always referenced, even when this render has no password: the Secret may be managed
        # outside the revision, and the pod must not start without a root password.
        container["env"] = [
            {
                "name": "MARIADB_ROOT_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": credentials_secret_name(backing), "key": PASSWORD_KEY}},
            }
        ]
    return container


def _storage(spec: EnvironmentSpec, backing: BackingServiceSpec, labels: dict) -> dict:
    """Either a claim per pod, or (clusters without a storage provisioner) an emptyDir sized alike."""
    if not spec.persistent_backing:
        return {"volumes": [{"name": "data", "emptyDir": {"sizeLimit": backing.storage}}]}
    return {"volumeClaimTemplates": [{
        "metadata": {"name": "data", "labels": labels},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": backing.storage}}},
    }]}


def _stateful_set(spec: EnvironmentSpec, backing: BackingServiceSpec, server: _Server) -> dict:
    labels = app_labels(spec, backing.name, server.role)
    storage = _storage(spec, backing, labels)
    pod_spec = {
        "serviceAccountName": service_account_name(spec),
        "automountServiceAccountToken": False,
        "securityContext": {"fsGroup": _IMAGE_GID},
        "containers": [_container(backing, server)],
        "tolerations": node_failure_tolerations(spec),
        **({"volumes": storage["volumes"]} if "volumes" in storage else {}),
    }
    sts_spec = {
        "serviceName": backing.name,
        "replicas": 1,
        "revisionHistoryLimit": 5,
        "selector": {"matchLabels": {NAME: backing.name}},
        "template": {"metadata": {"labels": labels}, "spec": pod_spec},
    }
    if "volumeClaimTemplates" in storage:
        # Environments are disposable: their data goes with them instead of leaking volumes. One that may
        # sleep is scaled to zero and back: its claim must outlive the scale-down, or it wakes empty.
        sts_spec["persistentVolumeClaimRetentionPolicy"] = {
            "whenDeleted": "Delete", "whenScaled": "Retain" if backing.may_sleep else "Delete"}
        sts_spec["volumeClaimTemplates"] = storage["volumeClaimTemplates"]
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": metadata(spec, backing.name, labels, revision_annotations(spec)),
        "spec": sts_spec,
    }


def _service(spec: EnvironmentSpec, backing: BackingServiceSpec, server: _Server) -> dict:
    # Headless: the StatefulSet's governing Service, and clients resolve the pod directly.
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(spec, backing.name, app_labels(spec, backing.name, server.role)),
        "spec": {
            "clusterIP": "None",
            "selector": {NAME: backing.name},
            "ports": [{"name": server.port_name, "port": server.port, "protocol": "TCP"}],
        },
    }
