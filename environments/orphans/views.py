"""The orphan pages (Platform admins act; Managers read): the list with its filters, total and CSV,
"Sweep now" (the job page follows it live), and the removal confirmation naming what goes and its cost."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from portal.accounts import authz
from portal.audit.actor import Actor
from portal.form_errors import add_service_errors

from .filters import OrphanFilter
from .forms import OrphanRemovalForm
from .models import Orphan
from .selectors import REMOVABLE, orphans_last_sweep, orphans_monthly_total, orphans_visible
from .services import orphans_remove_start, orphans_sweep_start
from .tables import ORPHANS

PER_PAGE = 50
VIEW_REFUSED = "Only Platform admins and Managers see the orphan sweeper's findings."
CHANGE_REFUSED = "Only Platform admins can sweep for orphans and remove them."


def _filtered(request: HttpRequest) -> tuple[OrphanFilter, QuerySet[Orphan]]:
    authz.require(authz.orphans_can(request.user, authz.VIEW), VIEW_REFUSED)
    found = OrphanFilter(request.GET, queryset=orphans_visible(request.user))
    return found, found.qs if found.is_valid() else Orphan.objects.none()


@login_required
def orphans_index(request: HttpRequest) -> HttpResponse:
    orphan_filter, rows = _filtered(request)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "environments/orphans/index.html", {
        "filter": orphan_filter, "page": Paginator(rows, PER_PAGE).get_page(request.GET.get("page")),
        "query": query.urlencode(), "totals": orphans_monthly_total(rows.filter(state__in=REMOVABLE)),
        "open_count": rows.filter(state__in=REMOVABLE).count(), "removable": REMOVABLE,
        "can_change": authz.orphans_can(request.user, authz.CHANGE), "last_sweep": orphans_last_sweep(),
        "automatic": settings.SLIPWAY_ORPHANS_REMOVE_AUTOMATICALLY})


@login_required
def orphans_export(request: HttpRequest) -> StreamingHttpResponse:
    return ORPHANS.download(_filtered(request)[1])


@login_required
@require_POST
def orphans_sweep(request: HttpRequest) -> HttpResponse:
    authz.require(authz.orphans_can(request.user, authz.CHANGE), CHANGE_REFUSED)
    try:
        job = orphans_sweep_start(actor=Actor.from_request(request), user=request.user)
    except ValidationError as exc:  # a sweep is already queued or running
        messages.error(request, " ".join(exc.messages))
        return redirect("orphans-index")
    messages.success(request, "Sweep started; its findings appear on the Orphans page when it finishes.")
    return redirect("job-detail", job_id=job.pk)


def _chosen_ids(values: list[str]) -> list[int]:
    return sorted({int(v) for v in values if v.isdigit()})


@login_required
def orphans_remove(request: HttpRequest) -> HttpResponse:
    """GET ?orphans=<id>…: the confirmation naming each orphan and the monthly cost; POST: queue the removal."""
    authz.require(authz.orphans_can(request.user, authz.CHANGE), CHANGE_REFUSED)
    source = request.POST if request.method == "POST" else request.GET
    chosen = _chosen_ids(source.getlist("orphans"))
    removable = list(orphans_visible(request.user).filter(pk__in=chosen, state__in=REMOVABLE))
    form = OrphanRemovalForm(request.POST or None, choices=[o.pk for o in removable],
                             initial={"orphans": [o.pk for o in removable]})
    if request.method == "POST" and form.is_valid():
        try:
            job = orphans_remove_start(actor=Actor.from_request(request), user=request.user,
                                       orphan_ids=form.cleaned_data["orphans"])
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Removing {len(form.cleaned_data['orphans'])} orphan(s); each is checked "
                                      "again just before it is deleted.")
            return redirect("job-detail", job_id=job.pk)
    skipped = len(chosen) - len(removable)
    status = 400 if (request.method == "POST" or not removable) else 200
    return render(request, "environments/orphans/confirm.html", {
        "form": form, "orphans": removable, "skipped": skipped,
        "totals": orphans_monthly_total(Orphan.objects.filter(pk__in=[o.pk for o in removable]))}, status=status)
