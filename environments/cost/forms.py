"""Cost forms: the figures' filters (page and CSV), a cluster's price table, a team's budget."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from clusters.models import Cluster
from portal.accounts.models import Team

from ..models import STAGES
from .selectors import GROUPINGS

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
GROUP_LABELS = {"team": "Team", "owner": "Owner", "stage": "Stage", "cluster": "Cluster",
                "environment": "Environment", "month": "Month"}


class CostFilterForm(forms.Form):
    """?by=team&team=payments&stage=qa&cluster=local&month=2026-12 (every field optional)."""

    by = forms.ChoiceField(label="Group by", choices=[(g, GROUP_LABELS[g]) for g in GROUPINGS], required=False)
    team = forms.ChoiceField(label="Team", required=False)
    stage = forms.ChoiceField(label="Stage", choices=[("", "Any stage"), *STAGES], required=False)
    cluster = forms.ChoiceField(label="Cluster", required=False)
    month = forms.CharField(label="Month (YYYY-MM)", required=False, max_length=40,
                            widget=forms.TextInput(attrs={"placeholder": "2026-12", "inputmode": "numeric"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", "Any team"), *Team.objects.values_list("slug", "name")]
        self.fields["cluster"].choices = [("", "Any cluster"), *((n, n) for n in Cluster.objects.exclude(
            status=Cluster.DESTROYED).values_list("name", flat=True))]

    def clean_month(self) -> str:
        month = self.cleaned_data.get("month", "").strip()
        if month and not MONTH.match(month):
            raise ValidationError(f"Write the month as YYYY-MM (like 2026-12), not '{month}'.")
        return month

    def filters(self) -> dict[str, str]:
        """The valid filters (call after is_valid())."""
        return {k: v for k, v in self.cleaned_data.items() if k != "by" and v}

    def grouping(self) -> str:
        return self.cleaned_data.get("by") or "team"


def node_hours_text(node_hours: dict[str, Any]) -> str:
    return "\n".join(f"{name} = {price}" for name, price in sorted(node_hours.items()))


class PriceTableForm(forms.Form):
    """A cluster's prices; amounts are text here and validated by ``services.price_table_update`` (so the
    page and the API give the same sentences)."""

    currency = forms.CharField(max_length=3, initial="USD", help_text="three letters, like USD")
    vcpu_hour = forms.CharField(label="Price per vCPU-hour", max_length=30)
    gib_hour = forms.CharField(label="Price per GiB-hour (memory)", max_length=30)
    storage_gib_month = forms.CharField(label="S3 price per GiB-month", max_length=30)
    node_hours = forms.CharField(label="Node prices per hour", required=False, widget=forms.Textarea(attrs={"rows": 6}),
                                 help_text="one instance type per line: m5.large = 0.096")
    default_instance_type = forms.CharField(required=False, max_length=50,
                                            help_text="the price of a node without the instance-type label")
    source = forms.CharField(required=False, max_length=300, help_text="where these prices come from, and when")

    def clean_node_hours(self) -> dict[str, str]:
        parsed, errors = {}, []
        for number, line in enumerate(self.cleaned_data.get("node_hours", "").splitlines(), start=1):
            if not line.strip():
                continue
            name, sep, price = line.partition("=")
            if not sep:
                errors.append(f"Line {number}: write it as 'instance type = price', like 'm5.large = 0.096'.")
                continue
            parsed[name.strip()] = price.strip()
        if errors:
            raise ValidationError(errors)
        return parsed


class BudgetForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.all(), to_field_name="slug", empty_label="—")
    monthly_amount = forms.CharField(label="Monthly budget", max_length=20, help_text="like 500 or 1250.50")
    currency = forms.CharField(max_length=3, initial="USD")
