"""Cost writes: a cluster's price table and a team's budget (Platform admins; audited with before/after)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from clusters.models import Cluster
from portal.accounts import authz
from portal.accounts.models import Team
from portal.audit.actor import Actor
from portal.audit.services import audited, changes_between

from ..models import PriceTable, TeamBudget
from .prices import prices_for

CURRENCY = re.compile(r"^[A-Z]{3}$")
INSTANCE_TYPE = re.compile(r"^[a-z0-9][a-z0-9.\-]{0,49}$")
MAX_PRICE = Decimal("100000000")  # fits the MONEY columns (14 digits, 6 decimals)
MAX_BUDGET = Decimal("9999999999")  # fits max_digits=12, decimal_places=2
PRICE_LABELS = {"vcpu_hour": "Price per vCPU-hour", "gib_hour": "Price per GiB-hour",
                "storage_gib_month": "S3 price per GiB-month"}


def parse_amount(value: Any, *, what: str, maximum: Decimal = MAX_PRICE, places: int = 6) -> Decimal:
    """``value`` as a Decimal between 0 and ``maximum`` with at most ``places`` decimals, or a
    ValidationError that names ``what`` and says why."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(f"{what}: '{value}' is not a number; write it like 0.0405.") from None
    if not amount.is_finite() or amount < 0:
        raise ValidationError(f"{what}: use a number of zero or more, not '{value}'.")
    if amount >= maximum:
        raise ValidationError(f"{what}: {value} is too large (the most is {maximum - 1}).")
    if -amount.as_tuple().exponent > places:
        raise ValidationError(f"{what}: use at most {places} decimal places, not '{value}'.")
    return amount


def parse_node_hours(value: Any) -> dict[str, str]:
    """{"m5.large": "0.096"}: instance types as EC2 names them, prices per node-hour (stored as text, so
    the exact decimal is kept). Raises ValidationError listing every bad entry."""
    if not isinstance(value, dict):
        raise ValidationError("Node prices: give them as instance type → price per hour.")
    errors, parsed = [], {}
    for name, price in value.items():
        if not INSTANCE_TYPE.match(str(name)):
            errors.append(f"Node prices: '{name}' is not an instance type name (like m5.large).")
            continue
        try:
            parsed[str(name)] = str(parse_amount(price, what=f"Node price of {name}"))
        except ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ValidationError(errors)
    return dict(sorted(parsed.items()))


def plain(amount: Any) -> str:
    """An amount as written, whatever the column's scale: 0.050000 and 0.05 are both "0.05"."""
    return f"{Decimal(str(amount)).normalize():f}"


def _table_facts(table: PriceTable | None, cluster: Cluster) -> dict[str, Any]:
    if table is None:  # the defaults were in force
        prices = prices_for(cluster)
        return {"currency": prices.currency, "vcpu_hour": plain(prices.vcpu_hour), "gib_hour": plain(prices.gib_hour),
                "storage_gib_month": plain(prices.storage_gib_month), "node_hours": "defaults",
                "default_instance_type": prices.default_instance_type, "source": "defaults"}
    return {"currency": table.currency, "vcpu_hour": plain(table.vcpu_hour), "gib_hour": plain(table.gib_hour),
            "storage_gib_month": plain(table.storage_gib_month),
            "node_hours": {name: plain(price) for name, price in (table.node_hours or {}).items()},
            "default_instance_type": table.default_instance_type, "source": table.source}


def price_table_update(*, actor: Actor, user: Any, cluster: Cluster, currency: str, vcpu_hour: Any, gib_hour: Any,
                       storage_gib_month: Any, node_hours: dict[str, Any] | None = None,
                       default_instance_type: str = "", source: str = "") -> PriceTable:
    """Set ``cluster``'s prices (made on first use). Platform admins only; every amount validated (a
    ValidationError keyed by field, nothing written); audited "cost.prices_updated" with before/after."""
    with audited(actor=actor, action="cost.prices_updated", obj=cluster) as scope:
        if not authz.price_table_can(user, authz.CHANGE, cluster):
            raise PermissionDenied("Only Platform admins change price tables.")
        errors: dict[str, list[str]] = {}
        values: dict[str, Any] = {}
        given = {"vcpu_hour": vcpu_hour, "gib_hour": gib_hour, "storage_gib_month": storage_gib_month}
        for field, value in given.items():
            try:
                values[field] = parse_amount(value, what=PRICE_LABELS[field])
            except ValidationError as exc:
                errors[field] = exc.messages
        try:
            values["node_hours"] = parse_node_hours(node_hours or {})
        except ValidationError as exc:
            errors["node_hours"] = exc.messages
        currency = (currency or "").strip().upper()
        if not CURRENCY.match(currency):
            errors["currency"] = [f"Currency: use a three-letter code like USD, not '{currency}'."]
        default_instance_type = (default_instance_type or "").strip()
        if default_instance_type and not INSTANCE_TYPE.match(default_instance_type):
            errors["default_instance_type"] = [
                f"'{default_instance_type}' is not an instance type name (like m5.large)."]
        if errors:
            raise ValidationError(errors)
        with transaction.atomic():
            table = PriceTable.objects.select_for_update().filter(cluster=cluster).first()
            before = _table_facts(table, cluster)
            table = table or PriceTable(cluster=cluster)
            for field, value in values.items():
                setattr(table, field, value)
            table.currency, table.default_instance_type = currency, default_instance_type
            table.source, table.updated_by = (source or "").strip()[:300], user if user and user.pk else None
            table.save()
        scope.details.update({"cluster": cluster.name, "before": before, "after": _table_facts(table, cluster),
                              "changes": changes_between(before, _table_facts(table, cluster))})
    return table


def _budget_facts(budget: TeamBudget | None) -> dict[str, Any] | None:
    return None if budget is None else {"monthly_amount": str(budget.monthly_amount), "currency": budget.currency}


def budget_set(*, actor: Actor, user: Any, team: Team, monthly_amount: Any, currency: str = "USD") -> TeamBudget:
    """Set ``team``'s monthly budget. Platform admins only; validated; audited "cost.budget_updated" with
    before/after. A changed amount lets this month's notices go out again against the new amount."""
    with audited(actor=actor, action="cost.budget_updated", obj=team) as scope:
        scope.team_slug = team.slug
        if not authz.budget_can(user, authz.CHANGE):
            raise PermissionDenied("Only Platform admins set team budgets.")
        try:
            amount = parse_amount(monthly_amount, what="Monthly budget", maximum=MAX_BUDGET, places=2)
        except ValidationError as exc:
            raise ValidationError({"monthly_amount": exc.messages}) from None
        if amount == 0:
            raise ValidationError({"monthly_amount": ["Monthly budget: use an amount above zero."]})
        currency = (currency or "").strip().upper()
        if not CURRENCY.match(currency):
            raise ValidationError({"currency": [f"Currency: use a three-letter code like USD, not '{currency}'."]})
        with transaction.atomic():
            budget = TeamBudget.objects.select_for_update().filter(team=team).first()
            before = _budget_facts(budget)
            budget = budget or TeamBudget(team=team)
            if budget.pk and budget.monthly_amount != amount:
                budget.notified_80 = budget.notified_100 = ""
            budget.monthly_amount, budget.currency = amount, currency
            budget.updated_by = user if user and user.pk else None
            budget.save()
        scope.obj = budget
        scope.details.update({"team": team.slug, "before": before, "after": _budget_facts(budget)})
    return budget
