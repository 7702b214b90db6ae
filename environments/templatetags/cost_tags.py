"""Cost pieces that pages show: amounts as money, and an environment's cost block (this month so far,
per day running, asleep hours, saving)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django import template
from django.utils import timezone

from ..cost.forecast import environment_requests, money
from ..cost.prices import hourly_cost, prices_for
from ..cost.selectors import cost_samples_filtered, cost_total
from ..models import CostSample, Environment

register = template.Library()


@register.filter(name="money")
def money_filter(amount: Decimal | None, currency: str = "USD") -> str:
    return "—" if amount is None else money(Decimal(amount), currency or "USD")


def environment_cost_figures(environment: Environment, *, now: datetime | None = None) -> dict[str, Any]:
    """This month so far (cost, saving, asleep and idle hours) and what a day running costs (its rendered
    requests at its cluster's prices)."""
    month = timezone.localtime(now or timezone.now()).strftime("%Y-%m")
    samples = cost_samples_filtered(CostSample.objects.filter(environment=environment), {"month": month})
    prices = prices_for(environment.cluster_id)
    requests = environment_requests(environment)
    per_day = None if requests is None else \
        hourly_cost(prices, cpu_cores=requests.cpu_cores, memory_gib=requests.memory_gib) * 24
    return {"month": month, "total": cost_total(samples), "per_day": per_day, "currency": prices.currency,
            "sampled": samples.exists()}


@register.inclusion_tag("environments/cost/_environment_cost.html")
def environment_cost(environment: Environment) -> dict[str, Any]:
    return {"environment": environment, **environment_cost_figures(environment)}
