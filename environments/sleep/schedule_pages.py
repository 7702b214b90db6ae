"""Sleep schedule pages: an environment's own schedule (set from the panel on its page, or cleared to
inherit the default), and the default schedules per team and/or stage (list with filters and CSV for
every role; create, edit, delete for Platform admins). Each action calls one use case of
``schedule_edits``; a refusal is shown on the form (or as a flash message from the panel)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from portal.accounts import authz
from portal.audit.actor import Actor
from portal.form_errors import add_service_errors

from ..catalog.models import STAGES
from ..models import Environment
from ..selectors import environment_list
from . import schedule_edits
from .forms import SleepDefaultForm, SleepScheduleForm
from .models import SleepSchedule
from .schedule_overview import scope_label, sleep_defaults
from .tables import SLEEP_DEFAULTS

DEFAULTS_PER_PAGE = 25
NOT_VISIBLE = "Every role sees default sleep schedules; your account has no role yet."


def _environment(request: HttpRequest, environment_id: int) -> Environment:
    return get_object_or_404(environment_list(user=request.user, filters={"status": ""}), pk=environment_id)


def _changeable(request: HttpRequest, environment_id: int) -> Environment:
    environment = _environment(request, environment_id)
    authz.require(authz.sleep_schedule_can(request.user, authz.CHANGE, environment), schedule_edits.CHANGE_REFUSED)
    return environment


def _refusal(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(f"{message}" for messages_ in exc.message_dict.values() for message in messages_)
    return " ".join(exc.messages)


@login_required
@require_POST
def environment_sleep_schedule(request: HttpRequest, environment_id: int) -> HttpResponse:
    """The panel's form: give the environment its own schedule (or change it)."""
    environment = _changeable(request, environment_id)
    form = SleepScheduleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Sleep schedule not saved: " + " ".join(
            f"{form.fields[name].label}: {' '.join(errors)}" for name, errors in form.errors.items()))
        return redirect("environment-detail", environment_id=environment.pk)
    try:
        schedule_edits.environment_schedule_set(actor=Actor.from_request(request), user=request.user,
                                                environment=environment, **form.values())
    except ValidationError as exc:
        messages.error(request, "Sleep schedule not saved: " + _refusal(exc))
    else:
        messages.success(request, "Sleep schedule saved.")
    return redirect("environment-detail", environment_id=environment.pk)


@login_required
@require_POST
def environment_sleep_schedule_clear(request: HttpRequest, environment_id: int) -> HttpResponse:
    """Drop the environment's own schedule: the default for its team and stage applies again."""
    environment = _changeable(request, environment_id)
    try:
        inherited = schedule_edits.environment_schedule_clear(actor=Actor.from_request(request), user=request.user,
                                                              environment=environment)
    except ValidationError as exc:
        messages.error(request, _refusal(exc))
    else:
        messages.success(request, f"It now follows the default for {scope_label(inherited)}." if inherited
                         else "It has no sleep schedule now.")
    return redirect("environment-detail", environment_id=environment.pk)


# --- defaults ----------------------------------------------------------------------------------------------

def _filters(request: HttpRequest) -> dict[str, str]:
    return {name: request.GET.get(name, "").strip() for name in ("team", "stage")}


@login_required
def sleep_default_list(request: HttpRequest) -> HttpResponse:
    authz.require(authz.sleep_default_can(request.user, authz.VIEW), NOT_VISIBLE)
    filters = _filters(request)
    page = Paginator(sleep_defaults(filters), DEFAULTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "environments/sleep/defaults_list.html", {
        "page": page, "filters": filters, "query": urlencode({k: v for k, v in filters.items() if v}),
        "teams": SleepDefaultForm.base_fields["team"].queryset, "stages": STAGES,
        "can_change": authz.sleep_default_can(request.user, authz.CHANGE)})


@login_required
def sleep_default_export(request: HttpRequest) -> StreamingHttpResponse:
    authz.require(authz.sleep_default_can(request.user, authz.VIEW), NOT_VISIBLE)
    return SLEEP_DEFAULTS.download(sleep_defaults(_filters(request)))


def _default_form_page(request: HttpRequest, form: SleepDefaultForm, schedule: SleepSchedule | None) -> HttpResponse:
    scope = scope_label(schedule) if schedule else ""
    return render(request, "environments/sleep/default_form.html", {"form": form, "schedule": schedule, "scope": scope})


@login_required
def sleep_default_new(request: HttpRequest) -> HttpResponse:
    authz.require(authz.sleep_default_can(request.user, authz.CREATE), schedule_edits.DEFAULTS_REFUSED)
    form = SleepDefaultForm(request.POST or None, initial={"enabled": True, "timezone": "UTC"})
    if request.method == "POST" and form.is_valid():
        try:
            schedule_edits.sleep_default_create(actor=Actor.from_request(request), user=request.user,
                                                team=form.cleaned_data["team"], stage=form.cleaned_data["stage"],
                                                **form.values())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Default sleep schedule created.")
            return redirect("sleep-default-list")
    return _default_form_page(request, form, None)


@login_required
def sleep_default_edit(request: HttpRequest, schedule_id: int) -> HttpResponse:
    authz.require(authz.sleep_default_can(request.user, authz.CHANGE), schedule_edits.DEFAULTS_REFUSED)
    schedule = get_object_or_404(sleep_defaults(), pk=schedule_id)
    form = SleepDefaultForm(request.POST or None, scope_fixed=True,
                            initial=schedule_edits.schedule_values(schedule))
    if request.method == "POST" and form.is_valid():
        try:
            schedule_edits.sleep_default_update(actor=Actor.from_request(request), user=request.user,
                                                schedule=schedule, **form.values())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Default sleep schedule for {scope_label(schedule)} saved.")
            return redirect("sleep-default-list")
    return _default_form_page(request, form, schedule)


@login_required
@require_POST
def sleep_default_delete(request: HttpRequest, schedule_id: int) -> HttpResponse:
    authz.require(authz.sleep_default_can(request.user, authz.CHANGE), schedule_edits.DEFAULTS_REFUSED)
    schedule = get_object_or_404(sleep_defaults(), pk=schedule_id)
    label = scope_label(schedule)
    try:
        schedule_edits.sleep_default_delete(actor=Actor.from_request(request), user=request.user, schedule=schedule)
    except ValidationError as exc:
        messages.error(request, _refusal(exc))
    else:
        messages.success(request, f"Default sleep schedule for {label} deleted.")
    return redirect("sleep-default-list")
