from typing import Any

from django.db.models import QuerySet

from .models import Cluster, TerraformRun


def cluster_list(*, user: Any, filters: dict[str, str] | None = None) -> QuerySet[Cluster]:
    """Every role may see clusters (not their credentials): environments are placed on them."""
    clusters = Cluster.objects.all()
    filters = filters or {}
    if filters.get("drift"):
        clusters = clusters.filter(drift_status=filters["drift"])
    if filters.get("status"):
        clusters = clusters.filter(status=filters["status"])
    return clusters


def cluster_environments(*, user: Any, cluster: Cluster) -> QuerySet:
    """The live environments on ``cluster`` that ``user`` may see."""
    from environments.models import Environment
    from environments.selectors import environment_list

    return environment_list(user=user).filter(cluster=cluster).exclude(status=Environment.DESTROYED).order_by("name")


def terraform_run_list(*, user: Any, cluster: Cluster | None = None) -> QuerySet[TerraformRun]:
    """Runs are visible to everyone who sees clusters; only Platform admins act on them."""
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


def plan_jobs_awaiting_approval(jobs: list) -> dict[Any, str]:
    """Of these succeeded jobs, the plan jobs whose run now waits for approval (a jobs waiting rule)."""
    ids = TerraformRun.objects.filter(plan_job__in=jobs, state=TerraformRun.AWAITING_APPROVAL).values_list(
        "plan_job_id", flat=True)
    return {job_id: "awaiting approval" for job_id in ids}
