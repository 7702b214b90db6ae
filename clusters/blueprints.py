"""What each Terraform blueprint needs from a cluster: inputs, state location, approval policy."""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from portal import aws

from .models import Cluster
from .terraform import Backend, Workspace

# What an apply replaces when the blueprint's checks fail (the real thing is gone behind Terraform's
# back and nothing in its state would notice otherwise).
REPAIR_BY_REPLACING = {"local": ["terraform_data.control_plane"]}


def auto_approves(blueprint: str) -> bool:
    """Plans of these blueprints apply without a Platform admin's approval (``local`` by default)."""
    return blueprint in settings.SLIPWAY_TERRAFORM_AUTO_APPROVE


def _port_range() -> range:
    low, _, high = settings.SLIPWAY_LOCAL_CLUSTER_PORTS.partition("-")
    return range(int(low), int(high or low) + 1)


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_local_port(*, exclude_cluster: Cluster | None = None) -> int:
    """The first API server port of the range that no other local cluster holds and nothing listens on."""
    taken = {c.terraform_vars.get("api_port") for c in Cluster.objects.filter(kind=Cluster.LOCAL)
             .exclude(status=Cluster.DESTROYED).exclude(pk=getattr(exclude_cluster, "pk", None))}
    for port in _port_range():
        if port not in taken and not _listening(port):
            return port
    raise ValidationError(f"No free port for a local cluster in SLIPWAY_LOCAL_CLUSTER_PORTS "
                          f"({settings.SLIPWAY_LOCAL_CLUSTER_PORTS}); destroy a local cluster or widen the range.")


def initial_vars(kind: str) -> dict[str, Any]:
    """Blueprint inputs fixed when the cluster is created (kept in ``Cluster.terraform_vars``)."""
    return {"api_port": free_local_port()} if kind == Cluster.LOCAL else {}


# The AWS APIs the aws-eks blueprint's provider calls (its `aws_endpoints` variable).
EKS_SERVICES = ("autoscaling", "ec2", "eks", "iam", "logs", "sts")


def _aws_endpoint_vars() -> dict[str, Any]:
    """The AWS adapter's endpoint overrides (the moto server here) as aws-eks inputs; {} on real AWS.

    Terraform then talks to the same endpoints as every boto3 client of Slipway, as the S3 backend does.
    """
    endpoints = {service: aws.endpoint_for(service) for service in EKS_SERVICES if aws.endpoint_for(service)}
    if not endpoints:
        return {}
    return {"aws_endpoints": endpoints, "aws_skip_credentials_validation": True, "aws_skip_metadata_api_check": True}


def variables(cluster: Cluster) -> dict[str, Any]:
    """The ``*.auto.tfvars.json`` content for a cluster.

    Precedence (last wins): what Slipway derives, ``SLIPWAY_TERRAFORM_BLUEPRINT_VARS`` for the kind,
    the cluster's own ``terraform_vars``. An empty Kubernetes version keeps the blueprint's default.
    """
    common = {"cluster_name": cluster.name, "region": cluster.region or settings.AWS_REGION,
              "node_groups": cluster.node_groups}
    if cluster.kubernetes_version:
        common["kubernetes_version"] = cluster.kubernetes_version
    if cluster.kind == Cluster.LOCAL:
        return {**common, "api_port": cluster.terraform_vars["api_port"],
                "state_dir": str(Path(settings.SLIPWAY_LOCAL_CLUSTERS_DIR) / cluster.name),
                "python": sys.executable, "project_dir": str(settings.BASE_DIR)}
    configured = settings.SLIPWAY_TERRAFORM_BLUEPRINT_VARS.get(cluster.kind) or {}
    return {**common, **_aws_endpoint_vars(), **configured, **cluster.terraform_vars}


def backend(cluster: Cluster) -> Backend:
    """The cluster's Terraform state store. Raises ValidationError for a cluster registered by kubeconfig:
    it has none, and asking S3 for a bucket named "" is the caller's mistake, not a failing AWS."""
    if not cluster.managed_by_terraform:
        raise ValidationError(f"{cluster.name} was registered by kubeconfig: Slipway holds no Terraform state "
                              "for it.")
    return Backend(bucket=cluster.state_bucket, key=cluster.state_key,
                   region=cluster.region if cluster.kind == Cluster.AWS_EKS and cluster.region else settings.AWS_REGION)


def workspace(cluster: Cluster) -> Workspace:
    return Workspace(name=cluster.name, blueprint=cluster.kind, backend=backend(cluster), variables=variables(cluster))
