"""The Terraform job bodies: plan (then, when auto-approved, apply), apply of a saved plan, reaping.

Flow (as HCP Terraform / Atlantis): ``init`` → ``plan -out`` → summary from ``show -json`` →
approval → ``apply <that plan>`` → ``output -json`` into the Cluster → add-ons → health check.
A run whose worker or Terraform process died is marked *interrupted* with the state lock it left;
an admin force-unlocks and starts a new run, which converges.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from portal.audit.actor import Actor
from portal.audit.services import audit_record
from portal.jobs.models import Job
from portal.jobs.reporting import JobReporter
from portal.redaction import hold, redact

from . import addons, blueprints
from .health import cluster_check_health
from .kube import client as kubeclient
from .kube.client_errors import UNREACHABLE
from .lifecycle import cluster_transition
from .models import Cluster, TerraformRun
from .state_versions import state_check, state_record
from .terraform import (
    LOCK_ERROR,
    TerraformError,
    TerraformInterrupted,
    Workspace,
    failed_checks,
    plan_changes,
    split_outputs,
)

HOST = socket.gethostname()


class RunLog:
    """Sends each rendered line to the job stream and keeps the run's stored copy (redacted)."""

    def __init__(self, run: TerraformRun, reporter: JobReporter) -> None:
        self.run, self.reporter = run, reporter

    def __call__(self, line: str) -> None:
        self.reporter.log(line)
        self.run.log += redact(line) + "\n"


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _worker_dead(run: TerraformRun) -> bool:
    """True when the run was being worked on by a process on this host that no longer exists."""
    return (run.worker_host == HOST and run.worker_pid is not None and run.worker_pid != os.getpid()
            and not _pid_alive(run.worker_pid))


def _save(run: TerraformRun, *fields: str) -> None:
    run.save(update_fields=list(fields))


def _finish(run: TerraformRun, state: str, message: str = "") -> None:
    run.state, run.message, run.finished_at = state, redact(message)[:1000], timezone.now()
    run.terraform_pid = None
    _save(run, "state", "message", "finished_at", "terraform_pid", "log", "lock_info")


def approve_locked(run: TerraformRun, *, actor: Actor) -> None:
    """Mark a (row-locked) run approved by ``actor`` and applying.

    Used by the auto-approving plan job and by ``terraform_runs.terraform_run_approve``; here, with the job
    bodies, so that they import no use case."""
    run.state, run.approved_by_id, run.approved_by_name = TerraformRun.APPLYING, actor.user_id, actor.name
    run.approved_at = timezone.now()
    run.save(update_fields=["state", "approved_by", "approved_by_name", "approved_at"])


def mark_interrupted(run: TerraformRun, *, actor: Actor, reason: str, reporter: JobReporter | None = None) -> None:
    """Record that a run died mid-way, with the state lock it left (if any); audited."""
    workspace = blueprints.workspace(run.cluster)
    try:
        run.lock_info = workspace.backend.lock() or {}
    except Exception as exc:  # the lock is shown when readable; the interruption is recorded regardless
        run.lock_info = {"error": f"cannot read the lock: {type(exc).__name__}"}
    held = f" The state lock {run.lock_info['ID']} is still held: force-unlock it, then run again." \
        if run.lock_info.get("ID") else " Run again to converge."
    _finish(run, TerraformRun.INTERRUPTED, reason + held)
    if run.action in (TerraformRun.APPLY, TerraformRun.DESTROY) and run.approved_at:
        cluster_transition(run.cluster, Cluster.FAILED, actor=actor, reporter=reporter,
                           message=f"Terraform run #{run.pk} was interrupted.")
    audit_record(actor=actor, action="cluster.terraform_interrupted", obj=run.cluster, outcome="failure",
                 error=run.message, details={"run": run.pk, "lock": run.lock_info})


def _claim(run: TerraformRun, *, expected: str, working: str, actor: Actor) -> bool:
    """Take the run for this process, or tell a redelivered task that its predecessor died."""
    with transaction.atomic():
        locked = TerraformRun.objects.select_for_update().get(pk=run.pk)
        if locked.state in TerraformRun.WORKING and _worker_dead(locked):
            run.refresh_from_db()
            mark_interrupted(run, actor=actor, reason=f"The worker running this {locked.action} died.")
            locked.state = TerraformRun.INTERRUPTED
        if locked.state == TerraformRun.INTERRUPTED:
            # A redelivered task after a crash: the job fails with the run, and an admin re-runs.
            raise TerraformInterrupted(f"run #{run.pk} was interrupted: {run.message or locked.message}")
        if locked.state != expected:
            return False
        locked.state, locked.worker_host, locked.worker_pid = working, HOST, os.getpid()
        locked.started_at = locked.started_at or timezone.now()
        _save(locked, "state", "worker_host", "worker_pid", "started_at")
    run.refresh_from_db()
    return True


def _on_start(run: TerraformRun) -> Callable[[int], None]:
    def record(pid: int) -> None:
        TerraformRun.objects.filter(pk=run.pk).update(terraform_pid=pid)
        run.terraform_pid = pid

    return record


def _failed(run: TerraformRun, workspace: Workspace, exc: Exception, actor: Actor, reporter: JobReporter) -> None:
    if isinstance(exc, TerraformInterrupted):
        mark_interrupted(run, actor=actor, reason=str(exc) + ".", reporter=reporter)
        return
    if LOCK_ERROR in run.log:
        run.lock_info = workspace.backend.lock() or {}
    _finish(run, TerraformRun.FAILED, f"{type(exc).__name__}: {exc}")
    if run.action in (TerraformRun.APPLY, TerraformRun.DESTROY) and run.approved_at:
        cluster_transition(run.cluster, Cluster.FAILED, actor=actor, reporter=reporter,
                           message=f"Terraform run #{run.pk} failed: {exc}")


def run_plan(job: Job, reporter: JobReporter, actor: Actor) -> None:
    """Plan (or drift-check); apply at once when the blueprint auto-approves, else await approval."""
    run = TerraformRun.objects.select_related("cluster").get(plan_job=job)
    if not _claim(run, expected=TerraformRun.QUEUED, working=TerraformRun.RUNNING, actor=actor):
        reporter.log(f"run #{run.pk} is {run.get_state_display().lower()}: nothing to do")
        return
    cluster, emit = run.cluster, RunLog(run, reporter)
    workspace = blueprints.workspace(cluster)
    try:
        emit(f"{run.get_action_display()} of cluster {cluster.name} (blueprint {cluster.kind}, state "
             f"s3://{cluster.state_bucket}/{cluster.state_key})")
        workspace.prepare()
        reporter.progress(5, "terraform init")
        workspace.init(emit, _on_start(run))
        state_check(cluster, workspace.backend)
        reporter.progress(20, "terraform plan")
        plan_path = workspace.plan_path(run.pk)
        plan_path.parent.mkdir(exist_ok=True)
        code, plan, checks = _plan(run, workspace, emit, plan_path, replace=[])
        creating = {r["address"] for r in plan_changes(plan)[1] if r["action"] in ("create", "replace")}
        repair = [a for a in blueprints.REPAIR_BY_REPLACING.get(cluster.kind, []) if a not in creating]
        if checks and repair and run.action in (TerraformRun.APPLY, TerraformRun.PLAN):
            emit(f"failed checks ({'; '.join(checks)}): planning again, replacing {', '.join(repair)}")
            code, plan, checks = _plan(run, workspace, emit, plan_path, replace=repair)
        run.plan_summary, run.plan_resources = plan_changes(plan)
        run.plan_summary["failed_checks"] = checks
        run.plan_file, run.planned_at = str(plan_path), timezone.now()
        _save(run, "plan_summary", "plan_resources", "plan_file", "planned_at", "log")
        reporter.progress(40, "planned")
    except Exception as exc:
        _failed(run, workspace, exc, actor, reporter)
        raise
    summary = run.plan_summary
    emit(f"plan: {summary['add']} to add, {summary['change']} to change, {summary['destroy']} to destroy")
    if run.plan_summary["failed_checks"]:
        emit(f"failed checks: {'; '.join(run.plan_summary['failed_checks'])}")
    if run.action == TerraformRun.DRIFT_CHECK:
        drifted = code == 2 or bool(run.plan_summary["failed_checks"])
        _record_drift(run, drifted=drifted)
        _finish(run, TerraformRun.SUCCEEDED, "drifted" if drifted else "in sync")
        Path(run.plan_file).unlink(missing_ok=True)
        return
    if run.action == TerraformRun.PLAN:
        _finish(run, TerraformRun.SUCCEEDED, "plan only")
        Path(run.plan_file).unlink(missing_ok=True)  # a plan-only run is never applied
        return
    if blueprints.auto_approves(cluster.kind) or not run.has_changes:
        with transaction.atomic():
            locked = TerraformRun.objects.select_for_update().get(pk=run.pk)
            approve_locked(locked, actor=Actor.system("terraform-auto-approve", request_id=actor.request_id))
        run.refresh_from_db()
        why = "no changes" if not run.has_changes else f"blueprint {cluster.kind} auto-approves"
        emit(f"approved automatically ({why})")
        run.apply_job = job
        _save(run, "apply_job")
        _apply(run, workspace, emit, reporter, actor)
        return
    # Nobody works on it while it waits: the apply job's worker claims it after approval.
    run.state, run.terraform_pid, run.worker_pid, run.worker_host = TerraformRun.AWAITING_APPROVAL, None, None, ""
    _save(run, "state", "terraform_pid", "worker_pid", "worker_host", "log")
    emit("awaiting approval by a Platform admin")
    reporter.progress(100, "awaiting approval")


def _plan(run: TerraformRun, workspace: Workspace, emit: RunLog, plan_path: Path,
          *, replace: list[str]) -> tuple[int, dict, list[str]]:
    """``plan -out`` (destroy / detailed-exitcode / replace as the run needs); its code, JSON and failed checks."""
    code = workspace.plan(emit, out=plan_path, destroy=run.action == TerraformRun.DESTROY,
                          detailed_exitcode=run.action == TerraformRun.DRIFT_CHECK, replace=replace,
                          on_start=_on_start(run))
    plan = workspace.show_plan(plan_path)
    return code, plan, failed_checks(plan)


def run_apply(job: Job, reporter: JobReporter, actor: Actor) -> None:
    """Apply an approved run's saved plan, then outputs, add-ons and health."""
    run = TerraformRun.objects.select_related("cluster").get(apply_job=job)
    # An approved run waits in APPLYING for this job; a redelivered job finds its predecessor's pid.
    if run.state == TerraformRun.APPLYING and _worker_dead(run):
        mark_interrupted(run, actor=actor, reason=f"The worker applying this {run.action} died.")
    if run.state == TerraformRun.INTERRUPTED:
        raise TerraformInterrupted(f"run #{run.pk} was interrupted: {run.message}")
    if run.state != TerraformRun.APPLYING:
        reporter.log(f"run #{run.pk} is {run.get_state_display().lower()}: nothing to do")
        return
    TerraformRun.objects.filter(pk=run.pk).update(worker_host=HOST, worker_pid=os.getpid())
    run.refresh_from_db()
    workspace = blueprints.workspace(run.cluster)
    workspace.prepare()
    _apply(run, workspace, RunLog(run, reporter), reporter, actor)


def _apply(run: TerraformRun, workspace: Workspace, emit: RunLog, reporter: JobReporter, actor: Actor) -> None:
    cluster = run.cluster
    destroying = run.action == TerraformRun.DESTROY
    cluster_transition(cluster, Cluster.DESTROYING if destroying else Cluster.PROVISIONING, actor=actor,
                       reporter=reporter)
    try:
        if not Path(run.plan_file).exists():
            raise TerraformError(f"the saved plan {run.plan_file} is gone; start a new run")
        reporter.progress(50, "terraform apply")
        if not (workspace.dir / ".terraform").is_dir():
            workspace.init(emit, _on_start(run))
        try:
            workspace.apply(emit, plan_file=run.plan_file, on_start=_on_start(run))
        finally:
            # A failed apply may have written part of its changes: the recorded serial follows the state.
            _record_state(cluster, workspace, emit)
        Path(run.plan_file).unlink(missing_ok=True)
        reporter.progress(75, "applied")
        if destroying:
            _register_destroyed(run, emit, actor, reporter)
            # Nothing is left to plan against; the state (empty) stays in the bucket.
            shutil.rmtree(workspace.dir, ignore_errors=True)
        else:
            _register_outputs(run, workspace, emit, actor)
            reporter.progress(85, "add-ons")
            _install_addons(run, emit)
            reporter.progress(95, "health check")
            checked = cluster_check_health(actor=actor, cluster=Cluster.objects.get(pk=cluster.pk), reporter=reporter)
            emit(f"health: {checked.status} {checked.server_version} nodes={checked.node_count} "
                 f"{checked.status_message}".rstrip())
            if checked.status != Cluster.READY:
                raise TerraformError(f"the cluster is not healthy after apply: {checked.status_message}")
    except Exception as exc:
        _failed(run, workspace, exc, actor, reporter)
        raise
    _finish(run, TerraformRun.SUCCEEDED, "destroyed" if destroying else "applied")
    audit_record(actor=actor, action="cluster.destroyed" if destroying else "cluster.applied", obj=cluster,
                 details={"run": run.pk, "plan": run.plan_summary, "outputs": run.outputs})


def _record_state(cluster: Cluster, workspace: Workspace, emit: RunLog) -> None:
    try:
        recorded = state_record(cluster, workspace.backend)
    except Exception as exc:  # the run's own outcome matters more; the next plan checks the state again
        emit(f"could not read the state's lineage and serial: {type(exc).__name__}: {exc}")
        return
    if recorded is not None:
        emit(f"state recorded: lineage {recorded.lineage}, serial {recorded.serial}")


def _register_outputs(run: TerraformRun, workspace: Workspace, emit: RunLog, actor: Actor) -> None:
    public, secret = split_outputs(workspace.outputs())
    workspace.masks.update(str(v) for v in secret.values() if v)
    hold(*workspace.masks)
    run.outputs = public
    _save(run, "outputs")
    cluster = Cluster.objects.get(pk=run.cluster_id)
    kubeconfig = secret.get("kubeconfig") or public.get("kubeconfig") or ""
    if kubeconfig:
        facts = kubeclient.parse_kubeconfig(kubeconfig)
        cluster.kubeconfig, cluster.api_server = kubeconfig, facts["server"]
        cluster.ca_data = public.get("cluster_ca_data") or _ca_of(kubeconfig)
    cluster.api_server = public.get("api_endpoint") or cluster.api_server
    cluster.ingress_hostname = public.get("ingress_hostname") or cluster.ingress_hostname
    cluster.kubernetes_version = public.get("kubernetes_version") or cluster.kubernetes_version
    cluster.drift_status, cluster.drift_summary = Cluster.IN_SYNC, {}
    cluster.drift_checked_at = timezone.now()
    # Not the status: only clusters/lifecycle.py writes it.
    cluster.save(update_fields=["kubeconfig", "api_server", "ca_data", "ingress_hostname", "kubernetes_version",
                                "drift_status", "drift_summary", "drift_checked_at", "updated_at"])
    emit(f"registered outputs: {', '.join(sorted(public))}; credentials stored encrypted" if kubeconfig
         else f"registered outputs: {', '.join(sorted(public))}")


def _install_addons(run: TerraformRun, emit: RunLog) -> None:
    """Add-ons with the blueprint's IRSA roles (aws-eks output ``addon_role_arns``) when it has them.

    An unreachable API server fails the run with the reason in plain words (on the moto server an EKS
    endpoint is a made-up host name: the AWS side is applied, the Kubernetes side cannot be reached).
    """
    cluster = Cluster.objects.get(pk=run.cluster_id)
    if not cluster.kubeconfig:  # the health check then fails the run, saying why
        emit("add-ons: skipped, the blueprint output no kubeconfig")
        return
    try:
        addons.install_addons(cluster, emit, role_arns=run.outputs.get("addon_role_arns") or None)
    except UNREACHABLE as exc:
        raise TerraformError("the add-ons could not be installed: "
                             + kubeclient.connection_problem(exc, cluster.api_server or "?")) from exc


def _ca_of(kubeconfig: str) -> str:
    clusters = kubeclient.load_kubeconfig(kubeconfig).get("clusters") or [{}]
    return (clusters[0].get("cluster") or {}).get("certificate-authority-data", "")


def _register_destroyed(run: TerraformRun, emit: RunLog, actor: Actor, reporter: JobReporter) -> None:
    cluster_transition(
        run.cluster, Cluster.DESTROYED, actor=actor, reporter=reporter, kubeconfig="", api_server="", ca_data="",
        is_default=False, node_count=None, drift_status=Cluster.DRIFT_UNKNOWN, drift_summary={})
    emit("cluster destroyed; its credentials were deleted")


def _record_drift(run: TerraformRun, *, drifted: bool) -> None:
    Cluster.objects.filter(pk=run.cluster_id).update(
        drift_status=Cluster.DRIFTED if drifted else Cluster.IN_SYNC, drift_checked_at=timezone.now(),
        drift_summary={"run": run.pk, **run.plan_summary, "resources": run.plan_resources} if drifted else {})


def reap_interrupted(*, actor: Actor | None = None) -> list[int]:
    """Mark runs whose worker on this host died as interrupted (periodic; idempotent)."""
    actor = actor or Actor.system("terraform-reaper")
    reaped = []
    # A run without a worker pid is approved and waiting for its apply job's worker: not dead.
    for run in TerraformRun.objects.select_related("cluster").filter(state__in=TerraformRun.WORKING,
                                                                     worker_host=HOST, worker_pid__isnull=False):
        if not _pid_alive(run.worker_pid):
            mark_interrupted(run, actor=actor, reason=f"The worker running this {run.action} died.")
            reaped.append(run.pk)
    return reaped
