from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.accounts import authz, rules
from portal.audit.actor import Actor
from portal.form_errors import add_service_errors
from portal.query_params import id_param
from portal.upstream import ServiceUnavailable

from . import documents, drift_checks, services
from .catalog.versions import versions_of
from .compare import environments_diff
from .diff import snapshot_diff
from .forms import CloneForm, EnvironmentForm
from .live import live_status
from .models import STAGES, Blueprint, Environment
from .policies.environment_requests import environment_request_create
from .policies.policy_checks import approval_needed
from .policies.policy_limits import limits_for
from .selectors import LIFECYCLE_JOB_KINDS, environment_list, latest_rollout_job, version_choices
from .services import environment_create


@login_required
def environment_index(request: HttpRequest) -> HttpResponse:
    environments = environment_list(user=request.user, filters=request.GET)
    page = Paginator(environments, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "environments/environment_list.html", {
        "page": page, "query": query.urlencode(), "statuses": Environment.STATUSES, "stages": STAGES,
        "filters": request.GET})


@login_required
def environment_new(request: HttpRequest) -> HttpResponse:
    _require_create(request)
    form = EnvironmentForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        # Policies (issue 17): a stage that needs approval gets a request instead of an environment.
        asks = approval_needed(user=request.user, stage=form.cleaned_data["stage"])
        try:
            made = (environment_request_create if asks else environment_create)(
                actor=Actor.from_request(request), user=request.user, versions=form.versions(), **form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            if asks:
                messages.success(request, f"Your request for {made.name} is waiting for approval by a Platform admin.")
                return redirect("environment-request-detail", request_id=made.pk)
            messages.success(request, f"Environment {made.name} is being created.")
            return redirect("environment-detail", environment_id=made.pk)
    blueprint = form.cleaned_data.get("blueprint") if form.is_bound and hasattr(form, "cleaned_data") else None
    if not form.is_bound:
        blueprint = form.choices.blueprint  # the only blueprint is preselected: show its versions at once
    picked = form.versions() if form.is_bound else {}
    return render(request, "environments/environment_new.html", {
        "form": form, "versions": version_choices(blueprint, picked) if blueprint else None,
        "limits": limits_for(user=request.user, stage=form["stage"].value() or "",
                             team=form.fields["team"].queryset.filter(slug=form["team"].value() or "").first())})


@login_required
def new_environment_cluster_field(request: HttpRequest) -> HttpResponse:
    """The cluster field of "New environment", which the page polls (HTMX) while a cluster is on its way."""
    _require_create(request)
    form = EnvironmentForm(user=request.user)
    if form.choices.cluster_state and form.choices.cluster_state == request.GET.get("waiting"):
        return HttpResponse(status=204)  # still waiting, for the same reason: HTMX leaves the page alone
    return render(request, "environments/_cluster_field.html",
                  {"field": form["cluster"], "form": form, "refresh": True})


@login_required
def new_environment_ttl_field(request: HttpRequest) -> HttpResponse:
    """The inside of "New environment"'s expiry box for the chosen stage (HTMX swaps it in when the stage
    changes): the stage's default replaces the value the form had suggested; one the person typed stays."""
    _require_create(request)
    form = EnvironmentForm.after_stage_change(user=request.user, stage=request.GET.get("stage", ""),
                                              typed=request.GET.get("ttl_hours", ""),
                                              suggested=request.GET.get("ttl_suggested", ""))
    return render(request, "environments/_ttl_field.html", {"field": form["ttl_hours"], "form": form})


@login_required
def version_picker(request: HttpRequest) -> HttpResponse:
    """The version selects for one blueprint (swapped into the form by HTMX)."""
    _require_create(request)
    blueprint = Blueprint.objects.filter(pk=id_param(request.GET, "blueprint", what="a blueprint's id")).first()
    return render(request, "environments/_version_picker.html",
                  {"versions": version_choices(blueprint) if blueprint else None})


@login_required
def environment_detail(request: HttpRequest, environment_id: int) -> HttpResponse:
    environment = get_object_or_404(environment_list(user=request.user, include_destroyed=True), pk=environment_id)
    job = latest_rollout_job(environment)
    return render(request, "environments/environment_detail.html", {
        "environment": environment, "job": job, "job_running": job is not None and not job.finished,
        "job_done_ok": job is not None and job.state == job.SUCCEEDED,
        "retry_destroy": environment.status == Environment.FAILED and getattr(
            latest_rollout_job(environment, kinds=LIFECYCLE_JOB_KINDS), "kind", "") == "destroy",
        "components": environment.current_revision.snapshot["components"] if environment.current_revision else [],
        "versions": version_choices(environment.blueprint, versions_of(
            environment.current_revision.snapshot) if environment.current_revision else {}),
        "revisions": environment.revisions.select_related("created_by")[:50],
        "live": live_status(environment) if environment.status not in (Environment.DESTROYED,) else None,
        "can_change": authz.environment_can(request.user, authz.CHANGE, environment),
        "hostname_records": environment.hostname_records.all(), "has_dns": hasattr(environment.cluster, "dns"),
        "is_admin": rules.is_platform_admin(request.user)})


def _require_create(request: HttpRequest) -> None:
    authz.require(authz.environment_can(request.user, authz.CREATE, None),
                  "Only QA, Developers and Platform admins create environments.")


def _visible(request: HttpRequest, environment_id: int) -> Environment:
    return get_object_or_404(environment_list(user=request.user, filters={"status": ""}), pk=environment_id)


def _act(request: HttpRequest, environment_id: int, use_case, success: str, **kwargs) -> HttpResponse:
    """Run one use case from a POSTed button or form; invalid input becomes a flash message on the page.

    A refusal is the use case's own (it decides with ``authz.environment_can`` and audits the
    attempt) and answers 403, not a redirect that would look like success.
    """
    environment = _visible(request, environment_id)
    try:
        use_case(actor=Actor.from_request(request), user=request.user, environment=environment, **kwargs)
    except (ValidationError, ServiceUnavailable) as exc:
        messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
    else:
        messages.success(request, success)
    return redirect("environment-detail", environment_id=environment.pk)


@login_required
@require_POST
def environment_update_versions(request: HttpRequest, environment_id: int) -> HttpResponse:
    versions = {k.removeprefix("version-"): v for k, v in request.POST.items() if k.startswith("version-") and v}
    return _act(request, environment_id, services.environment_update_versions, "New revision is rolling out.",
                versions=versions, message=request.POST.get("message", ""))


@login_required
@require_POST
def environment_rollback(request: HttpRequest, environment_id: int) -> HttpResponse:
    try:
        number = int(request.POST.get("revision", ""))
    except ValueError:
        number = 0
    return _act(request, environment_id, services.environment_rollback, f"Rolling back to r{number}.",
                number=number)


@login_required
@require_POST
def environment_retry(request: HttpRequest, environment_id: int) -> HttpResponse:
    return _act(request, environment_id, services.environment_retry, "Retrying: the job is running again.")


@login_required
@require_POST
def environment_destroy(request: HttpRequest, environment_id: int) -> HttpResponse:
    # The confirmation dialog posts the typed name; the service refuses a wrong one.
    return _act(request, environment_id, services.environment_destroy, "The environment is being destroyed.",
                confirm_name=request.POST.get("confirm_name"))


@login_required
@require_POST
def environment_extend(request: HttpRequest, environment_id: int) -> HttpResponse:
    try:
        hours = int(request.POST.get("hours", ""))
    except ValueError:
        hours = 0
    return _act(request, environment_id, services.environment_extend, f"Expiry extended by {hours} h.", hours=hours)


@login_required
def environment_diff(request: HttpRequest, environment_id: int) -> HttpResponse:
    environment = _visible(request, environment_id)
    numbers = [request.GET.get("from"), request.GET.get("to")]
    before, after = (get_object_or_404(environment.revisions, number=n if (n or "").isdigit() else -1)
                     for n in numbers)
    return render(request, "environments/environment_diff.html", {
        "environment": environment, "before": before, "after": after,
        "rows": snapshot_diff(before.snapshot, after.snapshot)})


@login_required
def environment_clone(request: HttpRequest, environment_id: int) -> HttpResponse:
    source = _visible(request, environment_id)
    form = CloneForm(request.POST or None, user=request.user, source=source)
    if request.method == "POST" and form.is_valid():
        try:
            environment = services.environment_clone(actor=Actor.from_request(request), user=request.user,
                                                     source=source, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{environment.name} is being created from {source.name}.")
            return redirect("environment-detail", environment_id=environment.pk)
    return render(request, "environments/environment_clone.html", {"source": source, "form": form})


@login_required
def environment_promote(request: HttpRequest, environment_id: int) -> HttpResponse:
    target = _visible(request, environment_id)
    authz.require(authz.environment_can(request.user, authz.CHANGE, target), services.CHANGE_REFUSED)
    candidates = environment_list(user=request.user).filter(blueprint__name=target.blueprint.name).exclude(
        pk=target.pk)
    source = candidates.filter(pk=id_param(request.GET, "source") or id_param(request.POST, "source")).first()
    if request.method == "POST" and source is not None:
        return _act(request, environment_id, lambda **kw: services.environment_promote(source=source, **kw),
                    f"Promoting {source.name}'s versions.")
    rows = services.promote_preview(source=source, target=target) if source else None
    return render(request, "environments/environment_promote.html",
                  {"target": target, "candidates": candidates, "source": source, "rows": rows})


@login_required
def environment_compare(request: HttpRequest, environment_id: int) -> HttpResponse:
    environment = _visible(request, environment_id)
    others = environment_list(user=request.user).filter(blueprint__name=environment.blueprint.name).exclude(
        pk=environment.pk)
    other = others.filter(pk=id_param(request.GET, "with", what="the other environment's id")).first()
    rows = environments_diff(environment, other) if other else None
    counts = {}
    for row in rows or []:
        counts[row["kind"]] = counts.get(row["kind"], 0) + 1
    return render(request, "environments/environment_compare.html",
                  {"environment": environment, "others": others, "other": other, "rows": rows, "counts": counts})


@login_required
@require_POST
def environment_drift_check(request: HttpRequest, environment_id: int) -> HttpResponse:
    return _act(request, environment_id, drift_checks.environment_drift_check, "Drift checked.")


@login_required
@require_POST
def environment_reconcile(request: HttpRequest, environment_id: int) -> HttpResponse:
    return _act(request, environment_id, drift_checks.environment_reconcile, "Reconciled with the current revision.")


@login_required
def environment_document(request: HttpRequest, environment_id: int) -> HttpResponse:
    """Download the environment's current revision as a YAML document (``apply_environment`` reads it back)."""
    environment = _visible(request, environment_id)
    return yaml_download(documents.environment_document(environment), f"{environment.name}.yaml")


def yaml_download(document: dict, filename: str) -> HttpResponse:
    response = HttpResponse(documents.to_yaml(document), content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def document_errors(exc: ValidationError | PermissionDenied) -> list[str]:
    """A refused document's problems as lines ("path: message"), for the import pages."""
    if isinstance(exc, PermissionDenied):
        return [str(exc)]
    if hasattr(exc, "error_dict"):
        return [f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()]
    return exc.messages


@login_required
def environment_import(request: HttpRequest) -> HttpResponse:
    """Paste (or upload) a document, see the plan, then apply it with a second, confirming POST."""
    _require_create(request)
    source = request.POST.get("document", "")
    upload = request.FILES.get("file")
    if upload is not None:
        source = upload.read().decode("utf-8", errors="replace")
    plan, errors = None, []
    if request.method == "POST":
        try:
            plan = documents.apply_document(source, actor=Actor.from_request(request), user=request.user,
                                            confirm=request.POST.get("confirm") == "1",
                                            message=request.POST.get("message", ""))
        except (ValidationError, PermissionDenied) as exc:
            errors = document_errors(exc)
        else:
            if plan.applied:
                done = "is being created" if plan.action == documents.CREATE else "has a new revision rolling out"
                messages.success(request, f"{plan.environment.name} {done}.")
                return redirect("environment-detail", environment_id=plan.environment.pk)
    return render(request, "environments/environment_document.html",
                  {"source": source, "plan": plan, "errors": errors})


@login_required
@require_POST
def environment_switch(request: HttpRequest, environment_id: int) -> HttpResponse:
    return _act(request, environment_id, services.environment_switch_colour, "Services switched colour.")


@login_required
@require_POST
def environment_retire(request: HttpRequest, environment_id: int) -> HttpResponse:
    return _act(request, environment_id, services.environment_retire_colour, "Standby colour retired.")
