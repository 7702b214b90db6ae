from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from portal.accounts import rules

from .models import Job, JobEvent


def job_list(*, user: Any) -> QuerySet[Job]:
    """Jobs ``user`` may see: their own, their teams', or all for Managers and Platform admins."""
    queryset = Job.objects.select_related("started_by", "team")
    visible = rules.visible_filter(user, owner_field="started_by", team_field="team")
    return queryset if visible is None else queryset.filter(visible)


def job_events_after(job: Job, after: int, *, limit: int = 1000) -> list[JobEvent]:
    return list(job.events.filter(seq__gt=after).order_by("seq")[:limit])
