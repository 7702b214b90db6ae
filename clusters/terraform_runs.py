"""Terraform use cases on clusters: create, plan/apply, approve, discard, destroy, force unlock.

Each validates, persists, audits and enqueues a job. Only Platform admins act; one run per
cluster at a time is enforced by a partial unique index (``one_active_terraform_run``), so a
second request is refused with the run that holds the cluster, even when two arrive at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from portal.accounts import authz
from portal.audit.actor import Actor
from portal.audit.services import audited
from portal.concurrency import refused_when_taken
from portal.derived_names import owner_marker, stable_suffix
from portal.jobs.models import Job
from portal.jobs.services import job_create

from . import blueprints
from .lifecycle import CLUSTER_STATUS
from .models import Cluster, TerraformRun
from .tasks import terraform_apply, terraform_plan
from .terraform import BlueprintMissing, TerraformError, blueprint_dir
from .terraform_jobs import approve_locked

NODE_GROUP_KEYS = {"name", "instance_types", "min_size", "max_size", "desired_size"}


def _require_admin(user: Any, what: str) -> None:
    if not authz.cluster_can(user, authz.CHANGE):
        raise PermissionDenied(f"Only Platform admins can {what}.")


def clean_node_groups(groups: Any) -> list[dict[str, Any]]:
    """Validate node groups: names, instance types, and min <= desired <= max. Raises ValidationError."""
    if not isinstance(groups, list):
        raise ValidationError({"node_groups": ["Node groups must be a list."]})
    errors, cleaned, names = [], [], set()
    for i, group in enumerate(groups, 1):
        if not isinstance(group, dict) or set(group) - NODE_GROUP_KEYS or not group.get("name"):
            errors.append(f"Node group {i}: needs a name and only {', '.join(sorted(NODE_GROUP_KEYS))}.")
            continue
        name = str(group["name"])
        try:
            low, want, high = (int(group.get(k, d)) for k, d in (("min_size", 1), ("desired_size", 1),
                                                                  ("max_size", 1)))
        except (TypeError, ValueError):
            errors.append(f"Node group {name}: sizes must be whole numbers.")
            continue
        if not 0 <= low <= want <= high:
            errors.append(f"Node group {name}: needs 0 <= min_size ({low}) <= desired_size ({want}) "
                          f"<= max_size ({high}).")
        if name in names:
            errors.append(f"Node group {name}: the name is used twice.")
        names.add(name)
        types = group.get("instance_types") or ["m5.large"]
        if not isinstance(types, list) or not all(isinstance(t, str) and t for t in types):
            errors.append(f"Node group {name}: instance_types must be a list of instance type names.")
        cleaned.append({"name": name, "instance_types": types, "min_size": low, "desired_size": want,
                        "max_size": high})
    if errors:
        raise ValidationError({"node_groups": errors})
    return cleaned


def run_unqueued(run: TerraformRun, *, actor: Actor) -> Callable[[str], None]:
    """``job_create(on_unqueued=...)`` for a run's plan job (the run queued) or apply job (applying): when
    the task cannot be queued the run fails with the reason, so the cluster is free for the next run,
    and a cluster Terraform has not created yet (pending) fails with it; an existing cluster is unchanged
    (nothing was applied)."""
    waiting = run.state
    cluster_failed = CLUSTER_STATUS.unqueued(run.cluster, waiting=Cluster.PENDING, to=Cluster.FAILED, actor=actor)

    def failed(reason: str) -> None:
        if TerraformRun.objects.filter(pk=run.pk, state=waiting).update(
                state=TerraformRun.FAILED, message=reason, finished_at=timezone.now()):
            cluster_failed(reason)

    return failed


def start_run(*, actor: Actor, cluster: Cluster, action: str) -> TerraformRun:
    """Save a queued run and its plan job (inside the caller's transaction)."""
    def busy() -> ValidationError | None:
        active = cluster.terraform_runs.filter(state__in=TerraformRun.ACTIVE).first()
        return None if active is None else ValidationError(
            f"Cluster {cluster.name} already has run #{active.pk} ({active.action}, "
            f"{active.get_state_display().lower()}); approve or discard it, or wait for it to finish.")

    if refusal := busy():
        raise refusal
    with refused_when_taken(busy):  # another request started one between our check and insert
        run = TerraformRun.objects.create(cluster=cluster, action=action, started_by_id=actor.user_id,
                                          started_by_name=actor.name)
    run.plan_job = job_create(actor=actor, kind=f"terraform.{action}", title=f"Terraform {action}: {cluster.name}",
                              task=terraform_plan, target=cluster, on_unqueued=run_unqueued(run, actor=actor))
    run.save(update_fields=["plan_job"])
    return run


def state_key_for(cluster: Cluster) -> str:
    """The cluster's Terraform state key: its name plus a suffix of this installation and its id, so two
    installations sharing a state bucket (the default bucket name is the same everywhere) never share
    a state. Stored on the cluster when it is created; existing clusters keep theirs."""
    return f"clusters/{cluster.name}-{stable_suffix(owner_marker('cluster', cluster.pk))}/terraform.tfstate"


def cluster_create(*, actor: Actor, user: Any, name: str, kind: str, region: str = "", kubernetes_version: str = "",
                   node_groups: Any = None, terraform_vars: dict[str, Any] | None = None) -> TerraformRun:
    """Record a Terraform-managed cluster and start its first apply run. Raises ValidationError/PermissionDenied."""
    with audited(actor=actor, action="cluster.create", details={"name": name, "kind": kind}) as scope:
        _require_admin(user, "create clusters")
        if kind not in Cluster.TERRAFORM_KINDS:
            raise ValidationError({"kind": [f"Terraform creates clusters of kinds "
                                            f"{', '.join(sorted(Cluster.TERRAFORM_KINDS))}; register others "
                                            f"by kubeconfig."]})
        if not re.fullmatch(r"[a-z]([a-z0-9-]{0,38}[a-z0-9])?", name or ""):
            raise ValidationError({"name": ["Use 1-40 lowercase letters, digits and hyphens, starting with a "
                                             "letter."]})
        groups = clean_node_groups(node_groups if node_groups is not None else
                                   [{"name": "default", "min_size": 1, "desired_size": 2, "max_size": 3}])
        try:
            blueprint_dir(kind)
        except BlueprintMissing as exc:
            raise ValidationError({"kind": [str(exc)]}) from exc
        if kind == Cluster.AWS_EKS and not region:
            raise ValidationError({"region": ["An AWS EKS cluster needs a region."]})

        def taken() -> ValidationError | None:
            if Cluster.objects.filter(name=name).exists():
                return ValidationError({"name": [f"A cluster named {name!r} already exists."]})
            return None

        if refusal := taken():
            raise refusal
        with refused_when_taken(taken):  # the same name created by a concurrent request: Cluster.name is unique
            cluster = Cluster.objects.create(
                name=name, kind=kind, managed_by_terraform=True, status=Cluster.PENDING,
                region=region or ("local" if kind == Cluster.LOCAL else ""), kubernetes_version=kubernetes_version,
                node_groups=groups, terraform_vars={**(terraform_vars or {}), **blueprints.initial_vars(kind)},
                state_bucket=settings.SLIPWAY_TERRAFORM_STATE_BUCKET, created_by_id=actor.user_id)
            cluster.state_key = state_key_for(cluster)
            cluster.save(update_fields=["state_key"])
            run = start_run(actor=actor, cluster=cluster, action=TerraformRun.APPLY)
        scope.obj = cluster
        scope.details.update(run=run.pk, node_groups=groups, region=cluster.region)
    return run


def terraform_run_start(*, actor: Actor, user: Any, cluster: Cluster, action: str,
                        confirm_name: str = "") -> TerraformRun:
    """Start a plan-only, apply, drift-check or destroy run. Destroy needs the cluster name typed."""
    with audited(actor=actor, action=f"cluster.terraform_{action.replace('-', '_')}", obj=cluster,
                 details={"action": action}) as scope:
        _require_admin(user, "run Terraform")
        if action not in dict(TerraformRun.ACTIONS):
            raise ValidationError({"action": [f"Unknown action {action!r}."]})
        if not cluster.managed_by_terraform:
            raise ValidationError(f"Cluster {cluster.name} is not managed by Terraform.")
        if action == TerraformRun.DESTROY and confirm_name != cluster.name:
            raise ValidationError({"confirm_name": [f"Type the cluster name ({cluster.name}) to confirm."]})
        if action != TerraformRun.APPLY and cluster.status == Cluster.DESTROYED:
            raise ValidationError(f"Cluster {cluster.name} is destroyed; apply to create it again.")
        with transaction.atomic():
            if cluster.status == Cluster.DESTROYED and cluster.kind == Cluster.LOCAL:
                # Created again: its old port may have gone to another local cluster meanwhile.
                cluster.terraform_vars = {**cluster.terraform_vars,
                                          "api_port": blueprints.free_local_port(exclude_cluster=cluster)}
                cluster.save(update_fields=["terraform_vars"])
            run = start_run(actor=actor, cluster=cluster, action=action)
        scope.details["run"] = run.pk
    return run


def terraform_run_approve(*, actor: Actor, user: Any, run: TerraformRun) -> TerraformRun:
    """Approve a saved plan: the apply job applies exactly that plan file."""
    with audited(actor=actor, action="cluster.terraform_approve", obj=run.cluster,
                 details={"run": run.pk, "plan": run.plan_summary}) as scope:
        _require_admin(user, "approve Terraform plans")
        with transaction.atomic():
            run = TerraformRun.objects.select_for_update().get(pk=run.pk)
            if run.state != TerraformRun.AWAITING_APPROVAL:
                raise ValidationError(f"Run #{run.pk} is {run.get_state_display().lower()}, not awaiting approval.")
            approve_locked(run, actor=actor)
            run.apply_job = job_create(actor=actor, kind=f"terraform.{run.action}.apply",
                                       title=f"Terraform {run.action} (apply): {run.cluster.name}",
                                       task=terraform_apply, target=run.cluster,
                                       on_unqueued=run_unqueued(run, actor=actor))
            run.save(update_fields=["apply_job"])
        scope.details["job"] = str(run.apply_job_id)
    return run


def terraform_run_discard(*, actor: Actor, user: Any, run: TerraformRun) -> TerraformRun:
    """Discard a plan awaiting approval (or a queued run): nothing is applied, the plan file is deleted."""
    with audited(actor=actor, action="cluster.terraform_discard", obj=run.cluster, details={"run": run.pk}):
        _require_admin(user, "discard Terraform plans")
        with transaction.atomic():
            run = TerraformRun.objects.select_for_update().get(pk=run.pk)
            if run.state not in (TerraformRun.AWAITING_APPROVAL, TerraformRun.QUEUED):
                raise ValidationError(f"Run #{run.pk} is {run.get_state_display().lower()}; only a queued run or "
                                      f"a plan awaiting approval can be discarded.")
            run.state, run.finished_at = TerraformRun.CANCELLED, timezone.now()
            run.message = f"discarded by {actor.name}"
            run.save(update_fields=["state", "finished_at", "message"])
            if run.plan_job_id and run.plan_job.state == Job.QUEUED:
                Job.objects.filter(pk=run.plan_job_id).update(state=Job.CANCELLED, finished_at=timezone.now())
        if run.plan_file:
            Path(run.plan_file).unlink(missing_ok=True)
    return run


def cluster_force_unlock(*, actor: Actor, user: Any, cluster: Cluster, lock_id: str) -> str:
    """Release a state lock left by a killed run (``terraform force-unlock -force <id>``); its output.

    Runs in the request: it is one short command, and the admin needs its answer at once.
    """
    with audited(actor=actor, action="cluster.terraform_force_unlock", obj=cluster,
                 details={"lock_id": lock_id}) as scope:
        _require_admin(user, "force-unlock Terraform state")
        working = cluster.terraform_runs.filter(state__in=TerraformRun.WORKING).first()
        if working is not None:
            raise ValidationError(f"Run #{working.pk} is still {working.get_state_display().lower()}; a lock it "
                                  f"holds is not stale. Wait for it, or for the reaper to mark it interrupted.")
        if not re.fullmatch(r"[A-Za-z0-9-]{1,100}", lock_id or ""):
            raise ValidationError({"lock_id": ["Give the lock ID shown on the cluster page."]})
        workspace = blueprints.workspace(cluster)
        held = workspace.backend.lock()
        if held is None or held.get("ID") != lock_id:
            raise ValidationError({"lock_id": [f"The state of {cluster.name} is not locked with ID {lock_id}"
                                               f"{' (it is locked with ' + held['ID'] + ')' if held else ''}."]})
        workspace.prepare()
        lines: list[str] = []
        workspace.init(lines.append)
        returncode = workspace.force_unlock(lines.append, lock_id=lock_id)
        if returncode != 0:
            raise TerraformError(f"terraform force-unlock failed: {' '.join(lines[-3:])}")
        scope.details["held"] = {k: held.get(k) for k in ("ID", "Operation", "Who", "Created")}
    return "\n".join(lines[-3:])
