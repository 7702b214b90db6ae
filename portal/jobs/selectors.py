from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import QuerySet

from portal.accounts import rules

from .models import Job, JobEvent


def job_list(*, user: Any) -> QuerySet[Job]:
    """Jobs ``user`` may see: their own, their teams', or all for Managers and Platform admins."""
    queryset = Job.objects.select_related("started_by", "team")
    visible = rules.visible_filter(user, owner_field="started_by", team_field="team")
    return queryset if visible is None else queryset.filter(visible)


# A job can succeed while the object it worked on then waits on a person (a Terraform plan awaiting
# approval): such a job is not "done". The app that knows (a higher layer) registers a rule, so job pages
# say what the object waits for instead of "succeeded". A rule maps succeeded jobs to {job id: label}.
WaitingRule = Callable[[list[Job]], dict[Any, str]]
_waiting_rules: list[WaitingRule] = []


def job_waiting_rule_register(rule: WaitingRule) -> None:
    """Register a rule (once, from an AppConfig.ready) telling which succeeded jobs' objects still wait."""
    if rule not in _waiting_rules:
        _waiting_rules.append(rule)


def jobs_with_waiting(jobs: Iterable[Job]) -> list[Job]:
    """The jobs, each with ``waiting``: empty, or what its object waits for (e.g. "awaiting approval")."""
    jobs = list(jobs)
    succeeded = [job for job in jobs if job.state == Job.SUCCEEDED]
    labels: dict[Any, str] = {}
    for rule in _waiting_rules if succeeded else ():
        labels.update(rule(succeeded))
    for job in jobs:
        job.waiting = labels.get(job.pk, "")
    return jobs


def job_events_after(job: Job, after: int, *, limit: int = 1000) -> list[JobEvent]:
    return list(job.events.filter(seq__gt=after).order_by("seq")[:limit])
