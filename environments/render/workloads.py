"""Per component: ConfigMap, Secret, Deployment, Service and HorizontalPodAutoscaler."""

from __future__ import annotations

import hashlib
import json

from clusters.kube.owner_labels import COLOUR

from .labels import (
    CONFIG_CHECKSUM,
    NAME,
    VERSION,
    app_labels,
    image_reference,
    metadata,
    revision_annotations,
    sanitize_label_value,
    workload_name,
)
from .namespace import service_account_name
from .scheduling import node_failure_tolerations
from .spec import ComponentSpec, EnvironmentSpec

ROLE = "application"
SERVICE_PORT = 80
# Probes and the Service refer to the container port by name, so a blue/green switch between
# colours that listen on different ports still routes correctly.
PORT_NAME = "http"


def config_map_name(spec: EnvironmentSpec, component: ComponentSpec) -> str:
    # Per colour: the inactive colour's pods must keep their own config if they restart.
    return f"{workload_name(spec, component)}-config"


def secret_name(spec: EnvironmentSpec, component: ComponentSpec) -> str:
    return f"{workload_name(spec, component)}-secret"


def config_checksum(component: ComponentSpec) -> str:
    """sha256 over the component's config and secret items, sorted, so a change rolls the pods.

    Env vars are read only at container start, hence the pod template must change when they do.
    Only the digest is exposed; it covers all items together, like Helm's checksum annotations.
    """
    canonical = json.dumps({"env": sorted(component.env), "secret_env": sorted(component.secret_env)},
                           separators=(",", ":"), sort_keys=True)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def render_component(spec: EnvironmentSpec, component: ComponentSpec) -> list[dict]:
    """All objects for one component, in no particular order (``render`` sorts them)."""
    objects: list[dict] = []
    if component.env:
        objects.append(_config_map(spec, component))
    if component.secret_env:
        objects.append(_secret(spec, component))
    objects.append(_deployment(spec, component))
    if component.port is not None:
        objects.append(_service(spec, component))
    if component.autoscaled:
        objects.append(_hpa(spec, component))
    return objects


def _labels(spec: EnvironmentSpec, component: ComponentSpec) -> dict[str, str]:
    labels = app_labels(spec, component.name, ROLE)
    if spec.colour:
        labels[COLOUR] = spec.colour
    return labels


def _config_map(spec: EnvironmentSpec, component: ComponentSpec) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(spec, config_map_name(spec, component), _labels(spec, component)),
        "data": dict(sorted(component.env)),
    }


def _secret(spec: EnvironmentSpec, component: ComponentSpec) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(spec, secret_name(spec, component), _labels(spec, component)),
        "type": "Opaque",
        "stringData": dict(sorted(component.secret_env)),
    }


def _selector(component: ComponentSpec, colour: str) -> dict[str, str]:
    # Kept minimal: a Deployment's selector is immutable, so it holds only what never changes.
    selector = {NAME: component.name}
    if colour:
        selector[COLOUR] = colour
    return selector


def _container(spec: EnvironmentSpec, component: ComponentSpec) -> dict:
    container: dict = {
        "name": component.name,
        "image": image_reference(component),
        "resources": {
            "requests": {"cpu": component.cpu_request, "memory": component.memory_request},
            "limits": {"cpu": component.cpu_limit, "memory": component.memory_limit},
        },
    }
    if component.command:
        container["command"] = list(component.command)
    if component.args:
        container["args"] = list(component.args)
    env_from = []
    if component.env:
        env_from.append({"configMapRef": {"name": config_map_name(spec, component)}})
    if component.secret_env:
        env_from.append({"secretRef": {"name": secret_name(spec, component)}})
    if env_from:
        container["envFrom"] = env_from
    if component.port is not None:
        container["ports"] = [{"name": PORT_NAME, "containerPort": component.port, "protocol": "TCP"}]
        probe = {"httpGet": {"path": component.health_path, "port": PORT_NAME}, "timeoutSeconds": 2}
        container["readinessProbe"] = {**probe, "periodSeconds": 5, "failureThreshold": 3}
        # Slower and more tolerant than readiness: restarting a pod is the last resort.
        container["livenessProbe"] = {**probe, "initialDelaySeconds": 10, "periodSeconds": 10, "failureThreshold": 6}
    return container


def _deployment(spec: EnvironmentSpec, component: ComponentSpec) -> dict:
    labels = _labels(spec, component)
    pod_labels = {**labels, VERSION: sanitize_label_value(component.tag)}
    deployment_spec: dict = {
        "revisionHistoryLimit": 5,
        "selector": {"matchLabels": _selector(component, spec.colour)},
        # Never drop below the desired count while rolling: disposable, but still someone's test run.
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        "template": {
            "metadata": {"labels": pod_labels, "annotations": {CONFIG_CHECKSUM: config_checksum(component)}},
            "spec": {
                "serviceAccountName": service_account_name(spec),
                "automountServiceAccountToken": False,
                "containers": [_container(spec, component)],
                "tolerations": node_failure_tolerations(spec),
            },
        },
    }
    # With an HPA the field is left out: applying a fixed count would fight the autoscaler on
    # every rollout (server-side apply would take ownership back and reset the scale).
    if not component.autoscaled:
        deployment_spec["replicas"] = component.replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(spec, workload_name(spec, component), pod_labels, revision_annotations(spec)),
        "spec": deployment_spec,
    }


def _service(spec: EnvironmentSpec, component: ComponentSpec) -> dict:
    # One Service per component, shared by both colours; it selects the active colour, so the
    # blue/green switch is a change of this selector only.
    labels = app_labels(spec, component.name, ROLE)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(spec, component.name, labels),
        "spec": {
            "type": "ClusterIP",
            "selector": _selector(component, spec.selected_colour),
            "ports": [{"name": PORT_NAME, "port": SERVICE_PORT, "targetPort": PORT_NAME, "protocol": "TCP"}],
        },
    }


def _hpa(spec: EnvironmentSpec, component: ComponentSpec) -> dict:
    name = workload_name(spec, component)
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(spec, name, _labels(spec, component)),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": component.autoscaling_min,
            "maxReplicas": component.autoscaling_max,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": component.autoscaling_cpu_percent},
                    },
                }
            ],
        },
    }
