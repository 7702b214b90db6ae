from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from environments.selectors import environment_list
from portal.accounts import authz, rules
from portal.accounts.rules import PRODUCTION_STAGES
from portal.audit.actor import Actor

from . import services
from .forms import DataCopyForm
from .models import DataCopy
from .selectors import copy_sources, data_copy_list
from .tables import DATA_COPIES


def _visible_copy(request: HttpRequest, copy_id: int) -> DataCopy:
    return get_object_or_404(data_copy_list(user=request.user), pk=copy_id)


@login_required
def data_copy_index(request: HttpRequest) -> HttpResponse:
    copies = data_copy_list(user=request.user, filters=request.GET)
    page = Paginator(copies, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "migrations_tool/datacopy_list.html",
                  {"page": page, "query": query.urlencode(), "states": DataCopy.STATES, "filters": request.GET})


@login_required
def data_copy_export(request: HttpRequest) -> StreamingHttpResponse:
    return DATA_COPIES.download(data_copy_list(user=request.user, filters=request.GET))


def _detail_context(request: HttpRequest, copy: DataCopy) -> dict:
    stores = []
    for kind in copy.stores:
        counters = copy.progress.get(kind, {})
        bars = [{"unit": unit, "done": counters.get(f"{unit}_done", 0), "total": counters.get(f"{unit}_total") or 0}
                for unit in ("tables", "rows", "keys", "objects", "bytes") if f"{unit}_done" in counters]
        verification = copy.verification.get(kind) or {}
        # MariaDB details are per table (a table); Redis and S3 ones are counts and short key lists.
        summary = [] if kind == "mysql" else [
            (name.replace("_", " "), ", ".join(map(str, value)) or "none" if isinstance(value, list) else value)
            for name, value in (verification.get("details") or {}).items()]
        stores.append({"kind": kind, "phase": counters.get("phase", "waiting"), "bars": bars, "summary": summary,
                       "verification": verification, "throughput": copy.throughput.get(kind, {})})
    undoable = services.last_undoable(copy.target) == copy and authz.data_copy_can(request.user, authz.CHANGE, copy)
    return {"copy": copy, "job": copy.job, "stores": stores, "undoable": undoable,
            "finished": copy.state in (DataCopy.VERIFIED, DataCopy.FAILED, DataCopy.UNDONE)}


@login_required
def data_copy_detail(request: HttpRequest, copy_id: int) -> HttpResponse:
    copy = _visible_copy(request, copy_id)
    return render(request, "migrations_tool/datacopy_detail.html", _detail_context(request, copy))


@login_required
def data_copy_progress(request: HttpRequest, copy_id: int) -> HttpResponse:
    """The per-store progress fragment the detail page re-fetches (HTMX) until the copy finishes."""
    copy = _visible_copy(request, copy_id)
    return render(request, "migrations_tool/_datacopy_progress.html", _detail_context(request, copy))


@login_required
@require_POST
def data_copy_undo(request: HttpRequest, copy_id: int) -> HttpResponse:
    copy = _visible_copy(request, copy_id)
    authz.require(authz.data_copy_can(request.user, authz.CHANGE, copy),
                  "You can undo copies only into your own teams' non-production environments.")
    try:
        services.data_copy_undo(actor=Actor.from_request(request), user=request.user, copy=copy)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, f"Restoring {copy.target.name} from the snapshot taken before the copy.")
    return redirect("datacopy-detail", copy_id=copy.pk)


@login_required
def environment_copy_data(request: HttpRequest, environment_id: int) -> HttpResponse:
    """The environment page's "Copy data from…": pick a source, stores, subset and masking options."""
    target = get_object_or_404(environment_list(user=request.user), pk=environment_id)
    if not authz.data_copy_can(request.user, authz.CREATE, target):
        raise Http404("You cannot change this environment.")
    sources = copy_sources(user=request.user, target=target)
    form = DataCopyForm(request.POST or None, sources=sources, target=target)
    if request.method == "POST" and form.is_valid():
        try:
            copy = services.data_copy_start(actor=Actor.from_request(request), user=request.user, target=target,
                                            **form.service_arguments())
        except (ValidationError, PermissionDenied) as exc:
            if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, f"Copying {', '.join(copy.stores)} from {copy.source.name}.")
            return redirect("datacopy-detail", copy_id=copy.pk)
    return render(request, "migrations_tool/copy_form.html",
                  {"target": target, "form": form, "production": target.stage in PRODUCTION_STAGES,
                   "is_admin": rules.is_platform_admin(request.user),
                   "stores": target.data_stores.filter(state="ready"), "notes": sources.notes,
                   "can_copy": bool(sources.shared)})
