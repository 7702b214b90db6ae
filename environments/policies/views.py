"""Policy pages: the Policies page (every role reads; Platform admins edit stages and quotas), the
requests queue (pending first, filters, pages, CSV), a request's own page (live while pending), the
New environment form's notice for the chosen stage and team."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.accounts import authz, rules
from portal.accounts.models import Team
from portal.audit.actor import Actor
from portal.form_errors import add_service_errors

from . import environment_requests, services
from .filters import EnvironmentRequestFilter
from .forms import QuotaForm, RefuseForm, StagePolicyForm
from .models import EnvironmentRequest
from .policy_limits import limits_for
from .selectors import environment_requests_visible, quota_policies, stage_policies
from .tables import ENVIRONMENT_REQUESTS

REQUESTS_PER_PAGE = 50


def _require_role(request: HttpRequest) -> None:
    authz.require(authz.policy_can(request.user, authz.VIEW), authz.NO_ROLE)


def _require_admin(request: HttpRequest) -> None:
    authz.require(authz.policy_can(request.user, authz.CHANGE), services.EDIT_REFUSED)


def _policies_page(request: HttpRequest, *, quota_form: QuotaForm | None = None, status: int = 200) -> HttpResponse:
    return render(request, "environments/policies/index.html", {
        "stages": stage_policies(), "quotas": quota_policies(), "quota_form": quota_form or QuotaForm(),
        "can_change": authz.policy_can(request.user, authz.CHANGE),
        "pending": environment_requests_visible(request.user).filter(state=EnvironmentRequest.PENDING).count()},
        status=status)


@login_required
def policies_index(request: HttpRequest) -> HttpResponse:
    _require_role(request)
    return _policies_page(request)


@login_required
def stage_policy_edit(request: HttpRequest, stage: str) -> HttpResponse:
    _require_admin(request)
    policy = next((p for p in stage_policies() if p.stage == stage), None)
    if policy is None:
        raise Http404("No such stage.")
    form = StagePolicyForm(request.POST or None, initial=StagePolicyForm.initial_from(policy))
    if request.method == "POST" and form.is_valid():
        try:
            services.stage_policy_update(actor=Actor.from_request(request), user=request.user, stage=stage,
                                         **form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Policy of stage {stage} saved.")
            return redirect("policies-index")
    return render(request, "environments/policies/stage_form.html", {"policy": policy, "form": form},
                  status=400 if form.errors else 200)


@login_required
@require_POST
def quota_policy_set(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    form = QuotaForm(request.POST)
    if form.is_valid():
        try:
            services.quota_policy_update(actor=Actor.from_request(request), user=request.user, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            team = form.cleaned_data["team"]
            messages.success(request, f"Quota of {team.slug if team else 'every team'} saved.")
            return redirect("policies-index")
    return _policies_page(request, quota_form=form, status=400)


@login_required
@require_POST
def quota_policy_delete(request: HttpRequest, quota_id: int) -> HttpResponse:
    _require_admin(request)
    policy = get_object_or_404(quota_policies(), pk=quota_id)
    services.quota_policy_delete(actor=Actor.from_request(request), user=request.user, policy=policy)
    messages.success(request, f"Quota of {policy.team.slug if policy.team else 'every team'} removed.")
    return redirect("policies-index")


def _requests(request: HttpRequest) -> tuple[EnvironmentRequestFilter, QuerySet[EnvironmentRequest]]:
    authz.require(authz.environment_request_can(request.user, authz.VIEW, None), authz.NO_ROLE)
    found = EnvironmentRequestFilter(request.GET, queryset=environment_requests_visible(request.user))
    return found, found.qs if found.is_valid() else found.queryset.none()


@login_required
def environment_request_list(request: HttpRequest) -> HttpResponse:
    found, rows = _requests(request)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "environments/policies/request_list.html", {
        "filter": found, "page": Paginator(rows, REQUESTS_PER_PAGE).get_page(request.GET.get("page")),
        "query": query.urlencode(), "is_admin": rules.is_platform_admin(request.user)})


@login_required
def environment_request_export(request: HttpRequest) -> StreamingHttpResponse:
    return ENVIRONMENT_REQUESTS.download(_requests(request)[1])


def _visible(request: HttpRequest, request_id: int) -> EnvironmentRequest:
    return get_object_or_404(environment_requests_visible(request.user), pk=request_id)


@login_required
def environment_request_detail(request: HttpRequest, request_id: int, *, refuse_form: RefuseForm | None = None,
                               status: int = 200) -> HttpResponse:
    asked = _visible(request, request_id)
    return render(request, "environments/policies/request_detail.html", {
        "asked": asked, "refuse_form": refuse_form or RefuseForm(),
        "can_decide": authz.environment_request_can(request.user, authz.CHANGE, asked),
        "can_cancel": authz.environment_request_can(request.user, authz.CANCEL, asked)}, status=status)


def _decide(request: HttpRequest, request_id: int, use_case, success: str, **kwargs) -> HttpResponse:
    asked = _visible(request, request_id)
    try:
        use_case(actor=Actor.from_request(request), user=request.user, request=asked, **kwargs)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, success.format(name=asked.name))
    return redirect("environment-request-detail", request_id=asked.pk)


@login_required
@require_POST
def environment_request_approve(request: HttpRequest, request_id: int) -> HttpResponse:
    return _decide(request, request_id, environment_requests.environment_request_approve,
                   "Approved: {name} is being created.")


@login_required
@require_POST
def environment_request_refuse(request: HttpRequest, request_id: int) -> HttpResponse:
    form = RefuseForm(request.POST)
    if not form.is_valid():
        authz.require(authz.environment_request_can(request.user, authz.CHANGE, _visible(request, request_id)),
                      environment_requests.DECIDE_REFUSED)
        return environment_request_detail(request, request_id, refuse_form=form, status=400)
    return _decide(request, request_id, environment_requests.environment_request_refuse, "Request for {name} refused.",
                   reason=form.cleaned_data["reason"])


@login_required
@require_POST
def environment_request_cancel(request: HttpRequest, request_id: int) -> HttpResponse:
    return _decide(request, request_id, environment_requests.environment_request_cancel,
                   "Request for {name} cancelled.")


@login_required
def policy_notice(request: HttpRequest) -> HttpResponse:
    """The New environment form's notice: the limits of the chosen stage and team (swapped in by HTMX)."""
    authz.require(authz.environment_can(request.user, authz.CREATE, None),
                  "Only QA, Developers and Platform admins create environments.")
    team = Team.objects.filter(slug=request.GET.get("team", "")).first()
    return render(request, "environments/policies/_notice.html",
                  {"limits": limits_for(user=request.user, stage=request.GET.get("stage", ""), team=team)})
