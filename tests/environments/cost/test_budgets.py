"""Budgets: set by Platform admins (validated, audited); notices once at 80 % and once at 100 % per month,
through e-mail to the team's members and the chat webhook, even with concurrent ticks."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from clusters.models import Cluster
from environments.cost.budgets import budget_status, budget_statuses, budgets_notify
from environments.cost.services import budget_set
from environments.models import CostSample, TeamBudget
from portal.accounts.models import Team
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from tests.racing import race

NOW = datetime(2026, 12, 20, 12, 0, tzinfo=UTC)


def spend(team, amount: str, *, when=NOW - timedelta(days=1)):
    cluster = Cluster.objects.get_or_create(name="cost-budgets", defaults={"kind": "local"})[0]
    CostSample.objects.create(kind="pods", cluster=cluster, team=team, started_at=when, ended_at=when + timedelta(hours=1),
                              seconds=3600, cost=Decimal(amount), would_cost=Decimal(amount))


@pytest.fixture
def budget(users, team):
    return budget_set(actor=Actor.for_user(users["admin"]), user=users["admin"], team=team, monthly_amount="100")


def test_only_admins_set_budgets_and_every_change_is_audited(users, team, budget):
    with pytest.raises(PermissionDenied, match="Only Platform admins"):
        budget_set(actor=Actor.for_user(users["manager"]), user=users["manager"], team=team, monthly_amount="5")
    budget_set(actor=Actor.for_user(users["admin"]), user=users["admin"], team=team, monthly_amount="250.50")
    event = AuditEvent.objects.filter(action="cost.budget_updated", outcome="success").latest("id")
    assert event.details["before"] == {"monthly_amount": "100.00", "currency": "USD"}
    assert event.details["after"] == {"monthly_amount": "250.50", "currency": "USD"}
    assert AuditEvent.objects.filter(action="cost.budget_updated", outcome="failure").count() == 1


@pytest.mark.parametrize(("amount", "message"), [
    ("lots", "is not a number"), ("-5", "zero or more"), ("0", "above zero"), ("1.234", "at most 2 decimal"),
    ("1e12", "too large")])
def test_bad_amounts_are_refused_with_a_sentence(users, team, amount, message):
    with pytest.raises(ValidationError, match=message):
        budget_set(actor=Actor.for_user(users["admin"]), user=users["admin"], team=team, monthly_amount=amount)
    assert not TeamBudget.objects.filter(team=team).exists()


def test_80_then_100_percent_each_notify_once(users, team, budget, chat):
    spend(team, "79.99")
    assert budgets_notify(now=NOW) == []
    spend(team, "0.01")
    sent = budgets_notify(now=NOW)
    assert [(s["threshold"], s["month"]) for s in sent] == [(80, "2026-12")]
    assert budgets_notify(now=NOW) == []  # the tick again: nothing twice
    spend(team, "25")
    assert [s["threshold"] for s in budgets_notify(now=NOW)] == [100]
    assert budgets_notify(now=NOW) == []
    assert len(mail.outbox) == 2 and len(chat.received) == 2
    assert sorted(mail.outbox[0].to) == sorted(u.email for u in team.members.all())
    assert "80 %" in mail.outbox[0].subject and "100 %" in mail.outbox[1].subject
    assert "$105.00 of its $100.00" in mail.outbox[1].body
    events = AuditEvent.objects.filter(action="cost.budget_notice").order_by("id")
    assert [e.details["threshold"] for e in events] == [80, 100]
    assert events[0].details["channels"] == {"email": "sent", "chat": "sent"}


def test_straight_past_100_sends_one_notice_and_next_month_starts_again(users, team, budget, chat):
    spend(team, "150")
    assert [s["threshold"] for s in budgets_notify(now=NOW)] == [100]
    assert budgets_notify(now=NOW) == []
    assert len(mail.outbox) == 1
    spend(team, "90", when=datetime(2027, 1, 2, tzinfo=UTC))
    assert [(s["threshold"], s["month"]) for s in budgets_notify(now=datetime(2027, 1, 3, tzinfo=UTC))] == [
        (80, "2027-01")]


@pytest.mark.django_db(transaction=True)
def test_concurrent_ticks_notify_once(users, team, chat):
    budget_set(actor=Actor.for_user(users["admin"]), user=users["admin"], team=team, monthly_amount="100")
    spend(team, "85")
    results = race(*[lambda: budgets_notify(now=NOW)] * 4)
    assert sorted(len(r) for r in results) == [0, 0, 0, 1], results
    assert len(mail.outbox) == 1 and len(chat.received) == 1
    assert AuditEvent.objects.filter(action="cost.budget_notice").count() == 1


def test_a_list_of_budgets_sums_each_teams_own_month(users, team):
    """budget_statuses (the budgets page and API: one grouped query) gives each team what budget_status does."""
    admin = users["admin"]
    other = Team.objects.create(slug="search", name="Search")
    quiet = Team.objects.create(slug="quiet", name="Quiet")
    budgets = [budget_set(actor=Actor.for_user(admin), user=admin, team=t, monthly_amount="100")
               for t in (team, other, quiet)]
    spend(team, "10.50")
    spend(team, "2")
    spend(other, "40")
    spend(other, "99", when=NOW - timedelta(days=40))  # last month: not this month's spending
    statuses = budget_statuses(budgets, now=NOW)
    assert [(s.budget.team.slug, s.spent, s.month) for s in statuses] == [
        ("payments", Decimal("12.50"), "2026-12"), ("search", Decimal("40"), "2026-12"), ("quiet", 0, "2026-12")]
    assert statuses == [budget_status(b, now=NOW) for b in budgets]
