"""Terraform drift: a periodic ``plan -detailed-exitcode`` per idle Terraform-managed cluster."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from portal.audit.actor import Actor
from portal.audit.services import audit_record

from .models import Cluster, TerraformRun
from .terraform_runs import start_run


def clusters_drift_check_all(*, actor: Actor | None = None) -> list[int]:
    """Start a drift-check run on each live Terraform cluster without a run in progress; the run ids.

    A cluster that is busy is skipped (its own run will show the same differences).
    """
    actor = actor or Actor.system("terraform-drift")
    started = []
    clusters = Cluster.objects.filter(managed_by_terraform=True).exclude(
        status__in=[Cluster.DESTROYED, Cluster.PENDING, Cluster.DESTROYING])
    for cluster in clusters:
        if cluster.terraform_runs.filter(state__in=TerraformRun.ACTIVE).exists():
            continue
        try:
            with transaction.atomic():
                run = start_run(actor=actor, cluster=cluster, action=TerraformRun.DRIFT_CHECK)
        except ValidationError:
            continue  # a run started meanwhile
        audit_record(actor=actor, action="cluster.terraform_drift_check", obj=cluster, details={"run": run.pk})
        started.append(run.pk)
    return started
