from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.accounts import authz
from portal.audit.actor import Actor

from .models import Job
from .selectors import job_list, jobs_with_waiting
from .services import selfcheck_start


@login_required
def job_index(request: HttpRequest) -> HttpResponse:
    jobs = job_list(user=request.user)
    state = request.GET.get("state", "")
    if state:
        jobs = jobs.filter(state=state)
    page = Paginator(jobs, 50).get_page(request.GET.get("page"))
    page.object_list = jobs_with_waiting(page.object_list)
    return render(request, "jobs/job_list.html", {"page": page, "state": state, "states": Job.STATES,
                                                  "query": f"state={state}" if state else ""})


@login_required
def job_detail(request: HttpRequest, job_id) -> HttpResponse:
    job = get_object_or_404(job_list(user=request.user), pk=job_id)
    return render(request, "jobs/job_detail.html", {"job": jobs_with_waiting([job])[0]})


@login_required
@require_POST
def selfcheck(request: HttpRequest) -> HttpResponse:
    authz.require(authz.operations_can(request.user, authz.CHANGE), "Only Platform admins can run the self-check.")
    try:
        job = selfcheck_start(actor=Actor.from_request(request), user=request.user)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return redirect("dashboard")
    messages.success(request, "Self-check started.")
    return redirect("job-detail", job_id=job.pk)
