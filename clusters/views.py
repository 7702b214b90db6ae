from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.accounts import authz
from portal.audit.actor import Actor

from . import terraform_runs
from .forms import ClusterCreateForm, ClusterRegisterForm
from .health import cluster_check_health
from .models import Cluster, TerraformRun
from .selectors import cluster_list, cluster_lock, terraform_run_list
from .services import cluster_addons_start, cluster_register_existing
from .state_versions import cluster_state_accept, cluster_state_report, cluster_state_restore
from .terraform import TerraformError


def _error_text(exc: Exception) -> str:
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


@login_required
def cluster_index(request: HttpRequest) -> HttpResponse:
    drift = request.GET.get("drift", "")
    clusters = cluster_list(user=request.user, filters={"drift": drift})
    # Each row links its DNS zone (a reverse one-to-one): joined, not queried once per cluster.
    page = Paginator(clusters.select_related("dns"), 50).get_page(request.GET.get("page"))
    return render(request, "clusters/cluster_list.html", {
        "clusters": page, "page": page, "drift": drift, "query": f"drift={drift}" if drift else "",
        "drifted": cluster_list(user=request.user, filters={"drift": Cluster.DRIFTED}),
        "can_admin": authz.cluster_can(request.user, authz.CHANGE)})


@login_required
def cluster_new(request: HttpRequest) -> HttpResponse:
    authz.require(authz.cluster_can(request.user, authz.CREATE), "Only Platform admins can create clusters.")
    form = ClusterCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            run = terraform_runs.cluster_create(actor=Actor.from_request(request), user=request.user,
                                              **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in (exc.message_dict.items() if hasattr(exc, "error_dict") else [(None, exc.messages)]):
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, f"Cluster {run.cluster.name}: Terraform run #{run.pk} started.")
            return redirect("terraform-run-detail", run_id=run.pk)
    return render(request, "clusters/cluster_new.html", {"form": form})


@login_required
def cluster_register_view(request: HttpRequest) -> HttpResponse:
    authz.require(authz.cluster_can(request.user, authz.CREATE), "Only Platform admins register clusters.")
    form = ClusterRegisterForm(request.POST or None, request.FILES or None)
    missing: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            cluster = cluster_register_existing(actor=Actor.from_request(request), name=form.cleaned_data["name"],
                                                make_default=form.cleaned_data["make_default"], **form.credentials())
        except ValidationError as exc:
            errors = dict(exc.message_dict)
            missing = errors.pop("missing_permissions", [])
            for field, problems in errors.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            messages.success(request, f"Cluster {cluster.name} registered ({cluster.server_version}).")
            return redirect("cluster-detail", cluster_id=cluster.pk)
    return render(request, "clusters/cluster_register.html", {"form": form, "missing": missing}, status=400 if
                  form.errors else 200)


@login_required
def cluster_detail(request: HttpRequest, cluster_id: int) -> HttpResponse:
    cluster = get_object_or_404(cluster_list(user=request.user), pk=cluster_id)
    runs = Paginator(terraform_run_list(user=request.user, cluster=cluster), 20).get_page(request.GET.get("page"))
    # The state lock and the state report are Terraform internals: shown to whoever reads runs.
    reads_runs = authz.terraform_run_can(request.user, authz.VIEW)
    return render(request, "clusters/cluster_detail.html", {
        "cluster": cluster, "runs": runs, "page": runs, "lock": cluster_lock(cluster) if reads_runs else None,
        "state": cluster_state_report(cluster) if reads_runs else None, "reads_runs": reads_runs,
        "active": cluster.terraform_runs.filter(state__in=TerraformRun.ACTIVE).first(),
        "can_admin": authz.cluster_can(request.user, authz.CHANGE), "actions": [
            (TerraformRun.PLAN, "Plan only"), (TerraformRun.APPLY, "Plan and apply"),
            (TerraformRun.DRIFT_CHECK, "Check drift")]})


def _cluster_to_change(request: HttpRequest, cluster_id: int) -> Cluster:
    cluster = get_object_or_404(cluster_list(user=request.user), pk=cluster_id)
    authz.require(authz.cluster_can(request.user, authz.CHANGE, cluster), "Only Platform admins change clusters.")
    return cluster


def _start(request: HttpRequest, cluster_id: int, **kwargs) -> HttpResponse:
    cluster = _cluster_to_change(request, cluster_id)
    try:
        run = terraform_runs.terraform_run_start(actor=Actor.from_request(request), user=request.user,
                                               cluster=cluster, **kwargs)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _error_text(exc))
        return redirect("cluster-detail", cluster_id=cluster.pk)
    messages.success(request, f"Terraform run #{run.pk} ({run.action}) started.")
    return redirect("terraform-run-detail", run_id=run.pk)


@login_required
@require_POST
def cluster_health_check(request: HttpRequest, cluster_id: int) -> HttpResponse:
    cluster = _cluster_to_change(request, cluster_id)
    cluster = cluster_check_health(actor=Actor.from_request(request), cluster=cluster)
    messages.info(request, f"Health checked: {cluster.get_status_display()}.")
    return redirect("cluster-detail", cluster_id=cluster.pk)


@login_required
@require_POST
def cluster_addons(request: HttpRequest, cluster_id: int) -> HttpResponse:
    cluster = _cluster_to_change(request, cluster_id)
    try:
        job = cluster_addons_start(actor=Actor.from_request(request), user=request.user, cluster=cluster)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
        return redirect("cluster-detail", cluster_id=cluster.pk)
    return redirect("job-detail", job_id=job.pk)


@login_required
@require_POST
def cluster_run_start(request: HttpRequest, cluster_id: int) -> HttpResponse:
    return _start(request, cluster_id, action=request.POST.get("action", ""))


@login_required
@require_POST
def cluster_destroy(request: HttpRequest, cluster_id: int) -> HttpResponse:
    return _start(request, cluster_id, action=TerraformRun.DESTROY, confirm_name=request.POST.get("confirm_name", ""))


def _state_action(request: HttpRequest, cluster_id: int, act: Callable[..., Any],
                  success: Callable[[Any], str], **fields: str) -> HttpResponse:
    """Run one admin action on a cluster's Terraform state from a POST; its outcome as a flash message."""
    cluster = _cluster_to_change(request, cluster_id)
    try:
        result = act(actor=Actor.from_request(request), user=request.user, cluster=cluster,
                     **{name: request.POST.get(name, "") for name in fields})
    except (ValidationError, PermissionDenied, TerraformError) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, success(result))
    return redirect("cluster-detail", cluster_id=cluster.pk)


@login_required
@require_POST
def cluster_force_unlock(request: HttpRequest, cluster_id: int) -> HttpResponse:
    return _state_action(request, cluster_id, terraform_runs.cluster_force_unlock,
                         lambda _: "The state lock was released. Start a new run to converge.", lock_id="")


@login_required
@require_POST
def cluster_state_restore_view(request: HttpRequest, cluster_id: int) -> HttpResponse:
    return _state_action(request, cluster_id, cluster_state_restore,
                         lambda restored: f"State version restored (lineage {restored.lineage}, serial "
                                          f"{restored.serial}). Plan again to see what it holds.", version_id="")


@login_required
@require_POST
def cluster_state_accept_view(request: HttpRequest, cluster_id: int) -> HttpResponse:
    return _state_action(request, cluster_id, cluster_state_accept,
                         lambda _: "The current state is accepted; the next plan works from it.", reason="")


def _run(request: HttpRequest, run_id: int) -> TerraformRun:
    return get_object_or_404(terraform_run_list(user=request.user), pk=run_id)


@login_required
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run(request, run_id)
    return render(request, "clusters/run_detail.html", {
        "run": run, "job": run.apply_job or run.plan_job, "can_admin": authz.cluster_can(request.user, authz.CHANGE)})


def _decide(request: HttpRequest, run_id: int, use_case, success: str) -> HttpResponse:
    run = _run(request, run_id)
    authz.require(authz.terraform_run_can(request.user, authz.CHANGE, run), "Only Platform admins decide on plans.")
    try:
        use_case(actor=Actor.from_request(request), user=request.user, run=run)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, success)
    return redirect("terraform-run-detail", run_id=run.pk)


@login_required
@require_POST
def run_approve(request: HttpRequest, run_id: int) -> HttpResponse:
    return _decide(request, run_id, terraform_runs.terraform_run_approve, "Plan approved: applying it now.")


@login_required
@require_POST
def run_discard(request: HttpRequest, run_id: int) -> HttpResponse:
    return _decide(request, run_id, terraform_runs.terraform_run_discard, "Plan discarded; nothing was applied.")
