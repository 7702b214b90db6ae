from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from portal.audit.actor import Actor

from .forms import EnvironmentForm
from .models import STAGES, Blueprint, Environment
from .selectors import environment_list, latest_rollout_job, versions_by_component
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
    form = EnvironmentForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            environment = environment_create(actor=Actor.from_request(request), user=request.user,
                                             versions=form.versions(), **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Environment {environment.name} is being created.")
            return redirect("environment-detail", environment_id=environment.pk)
    blueprint = form.cleaned_data.get("blueprint") if form.is_bound and hasattr(form, "cleaned_data") else None
    return render(request, "environments/environment_new.html", {
        "form": form, "versions": versions_by_component(blueprint) if blueprint else None,
        "picked": form.versions() if form.is_bound else {}})


@login_required
def version_picker(request: HttpRequest) -> HttpResponse:
    """The version selects for one blueprint (swapped into the form by HTMX)."""
    blueprint = Blueprint.objects.filter(pk=request.GET.get("blueprint") or None).first()
    return render(request, "environments/_version_picker.html",
                  {"versions": versions_by_component(blueprint) if blueprint else None, "picked": {}})


@login_required
def environment_detail(request: HttpRequest, environment_id: int) -> HttpResponse:
    environment = get_object_or_404(environment_list(user=request.user, filters={"status": ""}), pk=environment_id)
    if environment.status == Environment.DESTROYED:
        raise PermissionDenied("This environment was destroyed.")
    return render(request, "environments/environment_detail.html", {
        "environment": environment, "job": latest_rollout_job(environment),
        "components": environment.current_revision.snapshot["components"] if environment.current_revision else []})
