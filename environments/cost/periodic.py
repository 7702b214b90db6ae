"""The cost beat task, registered through ``environments/periodic.py``: sample every cluster, then send
the budget notices that became due."""

from __future__ import annotations

from celery import shared_task

from .budgets import budgets_notify
from .sampling import cost_sample_all


@shared_task(name="environments.cost_sample")
def cost_sample() -> dict:
    """Periodic (beat, every SLIPWAY_COST_SAMPLE_SECONDS): idempotent; a re-run in the same interval
    writes no sample and sends no notice twice."""
    sampled = cost_sample_all()
    return {"sampled": sampled, "notices": budgets_notify()}
