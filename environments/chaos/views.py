"""Chaos pages: an environment's experiments, settings, kill switch, runs and statistics; a run's
report; the global page with the global kill switch. Each action calls one use case of the
``services`` (settings, experiments) or ``runs`` (starting, stopping, kill switches) modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.accounts import authz
from portal.accounts.rules import PRODUCTION_STAGES
from portal.audit.actor import Actor
from portal.form_errors import add_service_errors
from portal.query_params import id_param
from portal.upstream import ServiceUnavailable

from ..models import Environment
from ..selectors import environment_list
from . import experiment_document, runs, services
from .filters import ChaosRunFilter
from .forms import EXPERIMENT_FIELDS, ChaosDocumentForm, ChaosExperimentForm, ChaosSettingsForm
from .gate import chaos_refusal
from .models import ChaosExperiment, ChaosKillSwitch, ChaosRun
from .recovery_chart import recovery_chart
from .selectors import (
    chaos_badge,
    chaos_experiments_visible,
    chaos_revision_comparison,
    chaos_runs_visible,
    chaos_settings_of,
    chaos_stats,
    chaos_stats_by_experiment,
)
from .tables import CHAOS_RUNS

CHANGE_REFUSED = ("You can change chaos experiments of your own teams' environments only, and of production "
                  "ones only as a Platform admin.")
RUNS_PER_PAGE = 25
CHART_RUNS = 30


# --- lookups: what the user may see (404 otherwise) and may change (403 otherwise) -----------------------------

def _environment(request: HttpRequest, environment_id: int) -> Environment:
    return get_object_or_404(environment_list(user=request.user, filters={"status": ""}), pk=environment_id)


def _experiment(request: HttpRequest, experiment_id: int, *, change: bool = False) -> ChaosExperiment:
    experiment = get_object_or_404(chaos_experiments_visible(request.user).select_related("environment"),
                                   pk=experiment_id)
    if change:
        _require_change(request, experiment.environment)
    return experiment


def _run(request: HttpRequest, run_id: int) -> ChaosRun:
    return get_object_or_404(_runs(request), pk=run_id)


def _runs(request: HttpRequest) -> QuerySet[ChaosRun]:
    return chaos_runs_visible(request.user).select_related("environment", "experiment", "started_by", "job")


def _require_change(request: HttpRequest, environment: Environment) -> None:
    authz.require(authz.chaos_can(request.user, authz.CHANGE, environment), CHANGE_REFUSED)


def _act(request: HttpRequest, use_case: Callable[..., Any], success: str, **kwargs: Any) -> Any | None:
    """Run one use case from a POSTed button: its result, or None when it refused (a flash message says
    why; the caller redirects either way). A PermissionDenied is left to answer 403."""
    try:
        done = use_case(actor=Actor.from_request(request), user=request.user, **kwargs)
    except (ValidationError, ServiceUnavailable) as exc:
        messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
        return None
    messages.success(request, success)
    return done


def _filtered(request: HttpRequest, runs_: QuerySet[ChaosRun]) -> tuple[ChaosRunFilter, QuerySet[ChaosRun]]:
    found = ChaosRunFilter(request.GET, queryset=runs_)
    return found, found.qs if found.is_valid() else runs_.none()


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- an environment's chaos page ----------------------------------------------------------------------------

def _with_stats(experiments: QuerySet[ChaosExperiment], runs_: QuerySet[ChaosRun]) -> list[ChaosExperiment]:
    """The experiments, each with ``.stats`` (its measured runs' numbers, or None) for the table."""
    stats = chaos_stats_by_experiment(runs_)
    listed = list(experiments)
    for experiment in listed:
        experiment.stats = stats.get(experiment.pk)
    return listed


def _environment_page(request: HttpRequest, environment: Environment, *, settings_form: ChaosSettingsForm | None = None,
                      status: int = 200) -> HttpResponse:
    current = chaos_settings_of(environment)
    production = environment.stage in PRODUCTION_STAGES
    if settings_form is None:
        settings_form = ChaosSettingsForm(initial=ChaosSettingsForm.initial_from(current), production=production)
    env_runs = _runs(request).filter(environment=environment)
    run_filter, filtered = _filtered(request, env_runs)
    chart_runs = list(env_runs.order_by("-created_at")[:CHART_RUNS])[::-1]
    revisions = sorted({n for n in env_runs.values_list("revision_number", flat=True) if n is not None})
    compare_a, compare_b = id_param(request.GET, "a", what="a revision number"), id_param(
        request.GET, "b", what="a revision number")
    comparison = (chaos_revision_comparison(environment, compare_a, compare_b)
                  if compare_a and compare_b else None)
    return render(request, "environments/chaos/environment_chaos.html", {
        "environment": environment, "settings": current, "settings_form": settings_form, "production": production,
        "experiments": _with_stats(environment.chaos_experiments.all(), env_runs), "filter": run_filter,
        "page": Paginator(filtered, RUNS_PER_PAGE).get_page(request.GET.get("page")),
        "query": _query_without_page(request), "stats": chaos_stats(env_runs), "badge": chaos_badge(environment),
        "refusal": chaos_refusal(environment), "active_run": env_runs.filter(status__in=ChaosRun.ACTIVE).first(),
        "chart": recovery_chart(chart_runs, slo_seconds=current.slo_seconds) if chart_runs else None,
        "chart_runs": chart_runs, "revisions": revisions, "compare_a": compare_a, "compare_b": compare_b,
        "comparison": comparison,
        "comparison_rows": ([(comparison.a, comparison.stats_a), (comparison.b, comparison.stats_b)]
                            if comparison else []),
        "can_change": authz.chaos_can(request.user, authz.CHANGE, environment),
        "global_switch": ChaosKillSwitch.objects.filter(pk=1).first()}, status=status)


@login_required
def environment_chaos(request: HttpRequest, environment_id: int) -> HttpResponse:
    return _environment_page(request, _environment(request, environment_id))


@login_required
@require_POST
def environment_chaos_settings(request: HttpRequest, environment_id: int) -> HttpResponse:
    environment = _environment(request, environment_id)
    _require_change(request, environment)
    form = ChaosSettingsForm(request.POST, production=environment.stage in PRODUCTION_STAGES)
    if form.is_valid():
        try:
            services.chaos_settings_update(actor=Actor.from_request(request), user=request.user,
                                           environment=environment, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Chaos settings of {environment.name} saved.")
            return redirect("environment-chaos", environment_id=environment.pk)
    return _environment_page(request, environment, settings_form=form, status=400)


@login_required
@require_POST
def environment_chaos_kill_switch(request: HttpRequest, environment_id: int) -> HttpResponse:
    environment = _environment(request, environment_id)
    _require_change(request, environment)
    engage = request.POST.get("engage") == "1"
    _act(request, runs.chaos_kill_switch_environment,
         f"Kill switch of {environment.name} engaged: running experiments stop and their faults are undone."
         if engage else f"Kill switch of {environment.name} released.", environment=environment, engage=engage)
    return redirect("environment-chaos", environment_id=environment.pk)


@login_required
def environment_chaos_runs_export(request: HttpRequest, environment_id: int) -> StreamingHttpResponse:
    environment = _environment(request, environment_id)
    return CHAOS_RUNS.download(_filtered(request, _runs(request).filter(environment=environment))[1])


@login_required
def environment_chaos_document(request: HttpRequest, environment_id: int) -> HttpResponse:
    """GET: the settings and experiments as one YAML document (``?download=1`` as a file); POST: apply it."""
    environment = _environment(request, environment_id)
    text = experiment_document.to_yaml(experiment_document.chaos_document(environment))
    if request.method == "GET" and request.GET.get("download"):
        response = HttpResponse(text, content_type="application/yaml")
        response["Content-Disposition"] = f'attachment; filename="chaos-{environment.name}.yaml"'
        return response
    form = ChaosDocumentForm(request.POST or None, initial={"document": text})
    if request.method == "POST":
        _require_change(request, environment)
        if form.is_valid():
            try:
                experiment_document.apply(form.cleaned_data["document"], environment=environment,
                                          actor=Actor.from_request(request), user=request.user)
            except ValidationError as exc:  # keyed by the document's paths: shown on the document field
                detail = exc.message_dict if hasattr(exc, "error_dict") else {"document": exc.messages}
                form.add_error("document", [m if k == "document" else f"{k}: {m}"
                                            for k, msgs in detail.items() for m in msgs])
            except PermissionDenied as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Chaos document applied to {environment.name}.")
                return redirect("environment-chaos", environment_id=environment.pk)
    return render(request, "environments/chaos/document.html", {
        "environment": environment, "form": form,
        "can_change": authz.chaos_can(request.user, authz.CHANGE, environment)},
        status=400 if form.errors else 200)


# --- experiments ------------------------------------------------------------------------------------------------

def _experiment_form_page(request: HttpRequest, environment: Environment, experiment: ChaosExperiment | None):
    _require_change(request, environment)
    initial = ChaosExperimentForm.initial_from(experiment) if experiment else None
    form = ChaosExperimentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        actor, fields = Actor.from_request(request), {name: form.cleaned_data[name] for name in EXPERIMENT_FIELDS}
        try:
            if experiment is None:
                saved = services.chaos_experiment_create(actor=actor, user=request.user, environment=environment,
                                                         **fields)
            else:
                saved = services.chaos_experiment_update(actor=actor, user=request.user, experiment=experiment,
                                                         **fields)
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Experiment {saved.name} saved.")
            return redirect("environment-chaos", environment_id=environment.pk)
    return render(request, "environments/chaos/experiment_form.html",
                  {"environment": environment, "experiment": experiment, "form": form},
                  status=400 if form.errors else 200)


@login_required
def chaos_experiment_new(request: HttpRequest, environment_id: int) -> HttpResponse:
    return _experiment_form_page(request, _environment(request, environment_id), None)


@login_required
def chaos_experiment_edit(request: HttpRequest, experiment_id: int) -> HttpResponse:
    experiment = _experiment(request, experiment_id)
    return _experiment_form_page(request, experiment.environment, experiment)


@login_required
@require_POST
def chaos_experiment_pause(request: HttpRequest, experiment_id: int) -> HttpResponse:
    experiment = _experiment(request, experiment_id, change=True)
    paused = request.POST.get("paused", "1") == "1"
    _act(request, services.chaos_experiment_pause, f"Experiment {experiment.name} {'paused' if paused else 'resumed'}.",
         experiment=experiment, paused=paused)
    return redirect("environment-chaos", environment_id=experiment.environment_id)


@login_required
@require_POST
def chaos_experiment_delete(request: HttpRequest, experiment_id: int) -> HttpResponse:
    experiment = _experiment(request, experiment_id, change=True)
    _act(request, services.chaos_experiment_delete, f"Experiment {experiment.name} deleted.", experiment=experiment)
    return redirect("environment-chaos", environment_id=experiment.environment_id)


@login_required
@require_POST
def chaos_experiment_run(request: HttpRequest, experiment_id: int) -> HttpResponse:
    experiment = _experiment(request, experiment_id, change=True)
    run = _act(request, runs.chaos_run_start, f"Experiment {experiment.name} started.", experiment=experiment,
               trigger="manual")
    if run is None:
        return redirect("environment-chaos", environment_id=experiment.environment_id)
    return redirect("chaos-run-detail", run_id=run.pk)


# --- runs -------------------------------------------------------------------------------------------------------

@login_required
def chaos_run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run(request, run_id)
    history = list(_runs(request).filter(experiment_id=run.experiment_id, created_at__lte=run.created_at)
                   .order_by("-created_at")[:CHART_RUNS])[::-1]
    return render(request, "environments/chaos/run_detail.html", {
        "run": run, "job": run.job, "active": run.status in ChaosRun.ACTIVE, "history": history,
        "chart": recovery_chart(history, slo_seconds=run.slo_seconds, highlight=run.pk,
                                title=f"Recovery time of {run.experiment.name}'s runs"),
        "unavailable": sorted((run.unavailable or {}).items()),
        "target_rows": [(key, ", ".join(map(str, value)) if isinstance(value, list) else value)
                        for key, value in (run.target or {}).items()],
        "can_change": authz.chaos_can(request.user, authz.CHANGE, run.environment)})


@login_required
@require_POST
def chaos_run_stop(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run(request, run_id)
    _require_change(request, run.environment)
    _act(request, runs.chaos_run_stop, "Run stopped; its faults are being undone.", run=run)
    return redirect("chaos-run-detail", run_id=run.pk)


# --- the global page and kill switch -------------------------------------------------------------------------------

@login_required
def chaos_index(request: HttpRequest) -> HttpResponse:
    authz.require(authz.chaos_global_can(request.user, authz.VIEW), authz.NO_ROLE)
    visible = _runs(request)
    run_filter, filtered = _filtered(request, visible)
    return render(request, "environments/chaos/index.html", {
        "switch": ChaosKillSwitch.objects.filter(pk=1).first(),
        "active_runs": visible.filter(status__in=ChaosRun.ACTIVE).order_by("created_at"),
        "filter": run_filter, "page": Paginator(filtered, RUNS_PER_PAGE).get_page(request.GET.get("page")),
        "query": _query_without_page(request),
        "can_engage": authz.chaos_global_can(request.user, authz.ENGAGE),
        "can_release": authz.chaos_global_can(request.user, authz.RELEASE)})


@login_required
def chaos_runs_export(request: HttpRequest) -> StreamingHttpResponse:
    authz.require(authz.chaos_global_can(request.user, authz.VIEW), authz.NO_ROLE)
    return CHAOS_RUNS.download(_filtered(request, _runs(request))[1])


def _global_switch(request: HttpRequest, *, engage: bool) -> HttpResponse:
    action = authz.ENGAGE if engage else authz.RELEASE
    authz.require(authz.chaos_global_can(request.user, action),
                  "Platform admins and Managers engage the global kill switch; only Platform admins release it."
                  if engage else "Only Platform admins release the global kill switch.")
    _act(request, runs.chaos_kill_switch_global,
         "Global kill switch engaged: every running experiment stops and its faults are undone." if engage
         else "Global kill switch released.", engage=engage, reason=request.POST.get("reason", "")[:300])
    return redirect("chaos-index")


@login_required
@require_POST
def chaos_kill_switch_engage(request: HttpRequest) -> HttpResponse:
    return _global_switch(request, engage=True)


@login_required
@require_POST
def chaos_kill_switch_release(request: HttpRequest) -> HttpResponse:
    return _global_switch(request, engage=False)
