"""Orphan use cases: start a sweep, confirm a removal. Platform admins only; the periodic sweep passes
``user=None``. The jobs do the work (``orphan_sweep.py``, ``orphan_removal.py``)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from portal.accounts import authz
from portal.audit.actor import Actor
from portal.audit.services import audited
from portal.jobs.models import Job
from portal.jobs.services import job_create

from .lifecycle import ORPHAN_STATE, orphan_transition
from .models import Orphan
from .selectors import REMOVABLE, REMOVE_KIND, SWEEP_KIND, orphans_removal_total
from .tasks import orphans_remove_job, orphans_sweep_job

MAX_PER_REMOVAL = 500


def orphans_sweep_active() -> Job | None:
    return Job.objects.filter(kind=SWEEP_KIND, state__in=(Job.QUEUED, Job.RUNNING)).order_by("created_at").first()


def orphans_sweep_start(*, actor: Actor, user: Any) -> Job:
    """Queue a sweep. Raises PermissionDenied (not a Platform admin) or ValidationError (one is queued or running)."""
    with audited(actor=actor, action="orphans.sweep_start") as scope:
        if user is not None and not authz.orphans_can(user, authz.CHANGE):
            raise PermissionDenied("Only Platform admins can sweep for orphans.")
        with transaction.atomic():
            if active := orphans_sweep_active():
                raise ValidationError(f"A sweep is already {active.state} (job {active.pk}); follow it on its page.")
            job = job_create(actor=actor, kind=SWEEP_KIND, title="Sweep for orphans", task=orphans_sweep_job)
        scope.obj = job
    return job


def orphans_remove_start(*, actor: Actor, user: Any, orphan_ids: list[int]) -> Job:
    """Queue the removal of the chosen orphans (each moved to ``removing`` now, re-checked by the job just
    before it deletes). Raises PermissionDenied, or ValidationError when nothing removable was chosen."""
    with audited(actor=actor, action="orphans.remove_start") as scope:
        if not authz.orphans_can(user, authz.CHANGE):
            raise PermissionDenied("Only Platform admins can remove orphans.")
        ids = sorted({int(i) for i in orphan_ids})
        if not ids:
            raise ValidationError({"orphans": ["Choose at least one orphan to remove."]})
        if len(ids) > MAX_PER_REMOVAL:
            raise ValidationError({"orphans": [f"Remove at most {MAX_PER_REMOVAL} orphans at once."]})
        with transaction.atomic():
            chosen = list(Orphan.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
            missing = sorted(set(ids) - {o.pk for o in chosen})
            closed = [o for o in chosen if o.state not in REMOVABLE]
            if missing or closed:
                named = [f"#{i} does not exist" for i in missing] + [f"{o} is {o.get_state_display().lower()}"
                                                                     for o in closed]
                raise ValidationError({"orphans": [f"Nothing was removed: {'; '.join(named)}. Sweep again or "
                                                   "choose among the orphans found."]})
            # Not queued: each chosen orphan fails with the reason (an admin may remove it again) instead
            # of staying "removing" with no job to remove it.
            unqueued = [ORPHAN_STATE.unqueued(o, waiting=Orphan.REMOVING, to=Orphan.FAILED, actor=actor)
                        for o in chosen]

            def all_failed(reason: str) -> None:
                for failed in unqueued:
                    failed(reason)

            job = job_create(actor=actor, kind=REMOVE_KIND, title=f"Remove {len(chosen)} orphan(s)",
                             task=orphans_remove_job, on_unqueued=all_failed)
            for orphan in chosen:
                orphan_transition(orphan, Orphan.REMOVING, actor=actor, message="",
                                  fields={"details": {**orphan.details, "removal_job": str(job.pk)}})
        scope.obj = job
        scope.details.update(orphans=[{"kind": o.kind, "location": o.location, "name": o.name} for o in chosen],
                             monthly_cost={c: str(t) for c, t in orphans_removal_total(chosen).items()})
    return job
