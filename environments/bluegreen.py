"""Blue/green at the cluster: move the Services between colours, and delete a retired colour."""

from __future__ import annotations

import dataclasses

from django.core.exceptions import ValidationError

from clusters.kube.apply import PRUNABLE_KINDS, apply_manifests, prune, raise_for_errors
from clusters.kube.client import reachable_api
from clusters.kube.owner_labels import ownership_selector
from clusters.kube.readiness import deployments_readiness

from .models import Environment
from .render import render
from .snapshot import spec_for


def switch_services(environment: Environment, colour: str) -> None:
    """Re-apply only the Services, selecting ``colour``; refuses unless that colour's Deployments are ready.

    Ready as a rollout means it (``deployment_ready``): every replica updated, ready and available,
    no old pods left, so traffic never moves to a colour whose rollout is still under way.
    """
    spec = dataclasses.replace(spec_for(environment, environment.current_revision), colour=colour,
                               active_colour=colour)
    services = [m for m in render(spec) if m["kind"] == "Service" and m["spec"].get("clusterIP") != "None"]
    with reachable_api(environment.cluster.kubeconfig, environment.cluster.api_server) as api:
        readiness = deployments_readiness(api, environment.namespace,
                                          selector=ownership_selector(environment.name, colour=colour))
        unready = [name for name, (ready, _) in readiness.items() if not ready]
        if not readiness or unready:
            raise ValidationError(f"The {colour} colour is not deployed and ready"
                                  + (f" ({', '.join(unready)} not ready)." if unready else "."))
        raise_for_errors(apply_manifests(api, services))


def delete_colour(environment: Environment, colour: str) -> list[str]:
    with reachable_api(environment.cluster.kubeconfig, environment.cluster.api_server) as api:
        deleted = prune(api, namespace=environment.namespace, selector=ownership_selector(environment.name,
                                                                                           colour=colour),
                        keep=set(), kinds=[k for k in PRUNABLE_KINDS if k[1] != "Service"])
    return [f"{key[1]}/{key[3]}" for key in deleted]
