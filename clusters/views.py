from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.accounts import rules
from portal.audit.actor import Actor

from .forms import ClusterRegisterForm
from .selectors import cluster_environments, cluster_list
from .services import cluster_addons_start, cluster_check_health, cluster_register_existing


@login_required
def cluster_index(request: HttpRequest) -> HttpResponse:
    return render(request, "clusters/cluster_list.html", {"clusters": cluster_list(user=request.user),
                                                          "can_register": rules.is_platform_admin(request.user)})


@login_required
def cluster_register_view(request: HttpRequest) -> HttpResponse:
    if not rules.is_platform_admin(request.user):
        raise PermissionDenied("Only Platform admins register clusters.")
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
    return render(request, "clusters/cluster_detail.html", {
        "cluster": cluster, "environments": cluster_environments(user=request.user, cluster=cluster),
        "can_change": rules.is_platform_admin(request.user)})


@login_required
@require_POST
def cluster_health_check(request: HttpRequest, cluster_id: int) -> HttpResponse:
    if not rules.is_platform_admin(request.user):
        raise PermissionDenied("Only Platform admins check cluster health on demand.")
    cluster = get_object_or_404(cluster_list(user=request.user), pk=cluster_id)
    cluster = cluster_check_health(actor=Actor.from_request(request), cluster=cluster)
    messages.info(request, f"Health checked: {cluster.get_status_display()}.")
    return redirect("cluster-detail", cluster_id=cluster.pk)


@login_required
@require_POST
def cluster_addons(request: HttpRequest, cluster_id: int) -> HttpResponse:
    cluster = get_object_or_404(cluster_list(user=request.user), pk=cluster_id)
    try:
        job = cluster_addons_start(actor=Actor.from_request(request), user=request.user, cluster=cluster)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("cluster-detail", cluster_id=cluster.pk)
    return redirect("job-detail", job_id=job.pk)
