"""Budget notices: once at 80 % and once at 100 % of a team's monthly budget, per month.

Each threshold is CLAIMED before it is sent (a conditional UPDATE of notified_80/notified_100 to the
month): of two concurrent ticks exactly one sends, and a tick killed after the claim does not send twice
(a lost notice is better than the same notice every five minutes). Reaching 100 % at once claims 80 % too:
one notice, not two in the same minute. Costs count pods and S3 samples (the team's share), in the
budget's currency.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from portal.audit.actor import Actor
from portal.audit.services import audit_record
from portal.notices import notice_send

from ..models import CostSample, TeamBudget
from .forecast import money
from .selectors import ZERO, cost_totals, month_bounds

THRESHOLDS = (100, 80)  # highest first: a team past 100 % gets the 100 % notice only


@dataclass(frozen=True)
class BudgetStatus:
    budget: TeamBudget
    month: str
    spent: Decimal

    @property
    def percent(self) -> Decimal:
        return self.spent * 100 / self.budget.monthly_amount if self.budget.monthly_amount else Decimal(0)


def budget_status(budget: TeamBudget, *, now: datetime | None = None) -> BudgetStatus:
    """What ``budget``'s team spent in the month of ``now`` (pods and S3 samples started in it)."""
    return budget_statuses([budget], now=now)[0]


def budget_statuses(budgets: Iterable[TeamBudget], *, now: datetime | None = None) -> list[BudgetStatus]:
    """``budget_status`` of each of ``budgets``, in order, from one grouped query for all their teams (a list
    of budgets costs the same queries however many teams it shows)."""
    budgets = list(budgets)
    month = timezone.localtime(now or timezone.now()).strftime("%Y-%m")
    start, end = month_bounds(month)
    samples = CostSample.objects.filter(team_id__in=[b.team_id for b in budgets], started_at__gte=start,
                                        started_at__lt=end)
    spent: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for row in cost_totals(samples, by="team") if budgets else []:  # a row per team and currency: summed
        spent[row.key] += row.cost
    return [BudgetStatus(budget=budget, month=month, spent=spent[budget.team_id]) for budget in budgets]


def _claim(budget: TeamBudget, threshold: int, month: str) -> bool:
    fields = ["notified_100", "notified_80"] if threshold == 100 else ["notified_80"]
    claimed = TeamBudget.objects.filter(pk=budget.pk).exclude(**{fields[0]: month}).update(
        **{field: month for field in fields})
    return bool(claimed)


def _text(status: BudgetStatus, threshold: int) -> tuple[str, str]:
    team, budget = status.budget.team, status.budget
    url = settings.SLIPWAY_BASE_URL.rstrip("/") + reverse("cost-list") + f"?team={team.slug}&month={status.month}"
    spent, amount = money(status.spent, budget.currency), money(budget.monthly_amount, budget.currency)
    subject = f"[Slipway] {team.name} has used {threshold} % of its {status.month} budget"
    body = (f"Team {team.name} has spent {spent} of its {amount} budget for {status.month} "
            f"({status.percent:.0f} %).\n\nSee where it goes: {url}\n"
            "Environments that sleep at night or expire when unused cost less.\n")
    return subject, body


def budgets_notify(*, now: datetime | None = None) -> list[dict]:
    """Send the 80 % / 100 % notices due at ``now``; each at most once per team and month (idempotent,
    safe under concurrent ticks). Returns what was sent: [{team, threshold, month, channels}]."""
    sent = []
    actor = Actor.system("cost-budgets")
    for budget in TeamBudget.objects.select_related("team"):
        status = budget_status(budget, now=now)
        for threshold in THRESHOLDS:
            if status.percent < threshold:
                continue
            if _claim(budget, threshold, status.month):
                subject, body = _text(status, threshold)
                addresses = sorted(e for e in budget.team.members.values_list("email", flat=True) if e)
                channels = notice_send(subject=subject, body=body, addresses=addresses, chat_text=f"{subject}\n{body}",
                                       no_address="skipped: no member of the team has an e-mail address")
                audit_record(actor=actor, action="cost.budget_notice", obj=budget, team_slug=budget.team.slug,
                             details={"threshold": threshold, "month": status.month, "spent": str(status.spent),
                                      "budget": str(budget.monthly_amount), "channels": channels})
                sent.append({"team": budget.team.slug, "threshold": threshold, "month": status.month,
                             "channels": channels})
            break  # the highest threshold reached decides: never both in one tick
    return sent
