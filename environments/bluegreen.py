"""Blue/green at the cluster: move the Services between colours, and delete a retired colour."""

from __future__ import annotations

import dataclasses

from django.core.exceptions import ValidationError

from clusters import kubeclient

from .kube.apply import PRUNABLE_KINDS, apply_manifests, prune, raise_for_errors
from .models import Environment
from .render import render
from .snapshot import spec_for


def _selector(environment: Environment, colour: str) -> str:
    return (f"app.kubernetes.io/managed-by=slipway,slipway.io/environment={environment.name},"
            f"slipway.io/colour={colour}")


def switch_services(environment: Environment, colour: str) -> None:
    """Re-apply only the Services, selecting ``colour``; refuses unless that colour's Deployments are ready."""
    from kubernetes import client

    spec = dataclasses.replace(spec_for(environment, environment.current_revision), colour=colour,
                               active_colour=colour)
    services = [m for m in render(spec) if m["kind"] == "Service" and m["spec"].get("clusterIP") != "None"]
    with kubeclient.reachable_api(environment.cluster.kubeconfig, environment.cluster.api_server) as api:
        deployments = client.AppsV1Api(api).list_namespaced_deployment(
            environment.namespace, label_selector=_selector(environment, colour)).items
        unready = [d.metadata.name for d in deployments if (d.status.ready_replicas or 0) < (d.spec.replicas or 0)]
        if not deployments or unready:
            raise ValidationError(f"The {colour} colour is not deployed and ready"
                                  + (f" ({', '.join(unready)} not ready)." if unready else "."))
        raise_for_errors(apply_manifests(api, services))


def delete_colour(environment: Environment, colour: str) -> list[str]:
    with kubeclient.reachable_api(environment.cluster.kubeconfig, environment.cluster.api_server) as api:
        deleted = prune(api, namespace=environment.namespace, selector=_selector(environment, colour), keep=set(),
                        kinds=[k for k in PRUNABLE_KINDS if k[1] != "Service"])
    return [f"{key[1]}/{key[3]}" for key in deleted]
