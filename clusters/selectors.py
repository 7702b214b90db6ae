from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from portal.accounts import authz

from .local_status import BUILDING, FAILED, local_cluster_status
from .models import Cluster, TerraformRun


def cluster_list(*, user: Any, filters: dict[str, str] | None = None) -> QuerySet[Cluster]:
    """Every role may see clusters (not their credentials): environments are placed on them."""
    if not authz.cluster_can(user, authz.VIEW):
        return Cluster.objects.none()
    clusters = Cluster.objects.all()
    filters = filters or {}
    if filters.get("drift"):
        clusters = clusters.filter(drift_status=filters["drift"])
    if filters.get("status"):
        clusters = clusters.filter(status=filters["status"])
    return clusters


def terraform_run_list(*, user: Any, cluster: Cluster | None = None) -> QuerySet[TerraformRun]:
    """Runs hold plans, logs and outputs of the platform's infrastructure: Managers and Platform admins
    read them (as they read the runs' job streams); everyone else gets none."""
    if not authz.terraform_run_can(user, authz.VIEW):
        return TerraformRun.objects.none()
    runs = TerraformRun.objects.select_related("cluster")
    return runs.filter(cluster=cluster) if cluster is not None else runs


def cluster_lock(cluster: Cluster) -> dict[str, Any] | None:
    """The state lock currently held in S3 (Terraform's lock info), or None; None when unreadable too."""
    if not cluster.managed_by_terraform:
        return None
    from . import blueprints

    try:
        return blueprints.backend(cluster).lock()
    except Exception:  # an unreachable state bucket must not break the cluster page
        return None


def clusters_for_placement() -> QuerySet[Cluster]:
    """Clusters a new environment can go to: not (being) destroyed, and, when Terraform makes them, applied
    (a cluster still being provisioned has no credentials yet)."""
    return Cluster.objects.exclude(status__in=[Cluster.DESTROYED, Cluster.DESTROYING]).exclude(
        managed_by_terraform=True, kubeconfig="")


@dataclass(frozen=True)
class NoClusterReason:
    """Why no cluster can be picked, in words for the form and the API: ``state`` is one of
    "building" (`make run`'s local cluster is starting), "failed", "provisioning" or "none"."""

    state: str
    message: str


def no_cluster_reason() -> NoClusterReason | None:
    """None when a cluster can be picked; otherwise why not, and what to do or how long to wait."""
    if clusters_for_placement().exists():
        return None
    local = local_cluster_status()
    if local is not None and local.state == BUILDING:
        minutes = local.minutes_since_start
        since = f"{minutes} min ago" if minutes else "less than a minute ago"
        return NoClusterReason(BUILDING, (
            f"The local Kubernetes cluster is being built (started {since}) — usually "
            f"~15 minutes on first start, under a minute later on. This page updates when it is ready."))
    provisioning = Cluster.objects.filter(managed_by_terraform=True, kubeconfig="",
                                          status__in=[Cluster.PENDING, Cluster.PROVISIONING]).first()
    if provisioning is not None:
        return NoClusterReason("provisioning", (
            f"Cluster {provisioning.name} is being created by Terraform; it can be picked once its apply has "
            f"finished. This page updates when it is ready."))
    if local is not None and local.state == FAILED:
        return NoClusterReason(FAILED, (
            f"The local Kubernetes cluster did not start ({local.message or 'the output of `make run` says why'}). "
            f"A Platform admin can create a cluster (Clusters → New cluster) or register one by kubeconfig "
            f"(Clusters → Register an existing cluster)."))
    return NoClusterReason("none", (
        "No cluster is registered yet: a Platform admin can create one (Clusters → New cluster) or register one "
        "by kubeconfig (Clusters → Register an existing cluster)."))


def plan_jobs_awaiting_approval(jobs: list) -> dict[Any, str]:
    """Of these succeeded jobs, the plan jobs whose run now waits for approval (a jobs waiting rule)."""
    ids = TerraformRun.objects.filter(plan_job__in=jobs, state=TerraformRun.AWAITING_APPROVAL).values_list(
        "plan_job_id", flat=True)
    return {job_id: "awaiting approval" for job_id in ids}
