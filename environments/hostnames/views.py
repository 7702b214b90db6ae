"""Hostname pages: the settings per cluster and the sweeper's reports, and an environment's names."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from clusters.models import Cluster
from clusters.selectors import no_cluster_reason
from portal.accounts import authz, rules
from portal.audit.actor import Actor
from portal.form_errors import add_service_errors

from ..selectors import environment_list
from . import services
from .forms import ClusterDnsForm, ExtraHostnamesForm, HostnameForm
from .models import ClusterDns
from .names import owner_id
from .selectors import dns_sweep_list
from .services import dns_sweep_start


@login_required
def hostnames_index(request: HttpRequest) -> HttpResponse:
    sweeps = Paginator(dns_sweep_list(user=request.user), 20).get_page(request.GET.get("page"))
    settings_by_cluster = {d.cluster_id: d for d in ClusterDns.objects.all()}
    clusters = [(c, settings_by_cluster.get(c.pk)) for c in Cluster.objects.order_by("name")]
    return render(request, "environments/hostnames/index.html", {
        "clusters": clusters, "page": sweeps, "owner_id": owner_id(), "is_admin": rules.is_platform_admin(request.user),
        "removal_enabled": settings.SLIPWAY_DNS_SWEEP_REMOVE, "no_cluster": None if clusters else no_cluster_reason()})


@login_required
def cluster_dns_edit(request: HttpRequest, cluster_id: int) -> HttpResponse:
    cluster = get_object_or_404(Cluster, pk=cluster_id)
    authz.require(authz.cluster_dns_can(request.user, authz.CHANGE, cluster),
                  "Only Platform admins can change a cluster's hostname settings.")
    current = ClusterDns.objects.filter(cluster=cluster).first()
    initial = {}
    if current:
        initial = {"zone": current.zone_name, "hostname_pattern": current.hostname_pattern,
                   "record_type": current.record_type, "target": current.target,
                   "target_zone_id": current.target_zone_id, "ttl": current.ttl}
    form = ClusterDnsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.cluster_dns_set(actor=Actor.from_request(request), user=request.user, cluster=cluster,
                                     **form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Hostname settings of {cluster.name} saved.")
            return redirect("hostnames-index")
    return render(request, "environments/hostnames/cluster_dns_form.html",
                  {"form": form, "cluster": cluster, "current": current})


@login_required
@require_POST
def dns_sweep(request: HttpRequest) -> HttpResponse:
    authz.require(authz.operations_can(request.user, authz.CHANGE), "Only Platform admins can sweep DNS zones.")
    try:
        job = dns_sweep_start(actor=Actor.from_request(request), user=request.user)
    except (PermissionDenied, ValidationError) as exc:  # not an admin, or a sweep already queued or running
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        return redirect("hostnames-index")
    messages.success(request, "DNS sweep started; its report appears on the Hostnames page.")
    return redirect("job-detail", job_id=job.pk)


def _environment_form_action(request: HttpRequest, environment_id: int, form_class, use_case, success: str):
    environment = get_object_or_404(environment_list(user=request.user, filters={"status": ""}), pk=environment_id)
    authz.require(authz.hostname_can(request.user, authz.CHANGE, environment),
                  "You can change hostnames of your own teams' environments only.")
    form = form_class(request.POST)
    if form.is_valid():
        try:
            use_case(actor=Actor.from_request(request), user=request.user, environment=environment,
                     **form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
        else:
            messages.success(request, success)
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect("environment-detail", environment_id=environment.pk)


@login_required
@require_POST
def environment_hostname(request: HttpRequest, environment_id: int) -> HttpResponse:
    return _environment_form_action(request, environment_id, HostnameForm, services.environment_hostname_change,
                                    "Hostname change is rolling out.")


@login_required
@require_POST
def environment_extra_hostnames(request: HttpRequest, environment_id: int) -> HttpResponse:
    return _environment_form_action(request, environment_id, ExtraHostnamesForm,
                                    services.environment_extra_hostnames_set, "Extra hostnames are rolling out.")
