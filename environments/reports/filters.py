"""The managers' dashboard filters (team, stage, period, idle hours), shared by the page, its CSV exports
and the API: one form reads them, and a malformed value is a 400 with a sentence, never a 500."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django import forms
from django.utils import timezone

from portal.accounts.models import Team
from portal.query_params import InvalidParameter

from ..models import STAGES
from .selectors import DEFAULT_IDLE_HOURS, DEFAULT_WEEKS, PERIOD_WEEKS, ReportScope


class ReportFilterForm(forms.Form):
    team = forms.ChoiceField(required=False, label="Team",
                             error_messages={"invalid_choice": "There is no team %(value)s: choose one from the list."})
    stage = forms.ChoiceField(required=False, label="Stage", choices=[("", "Every stage"), *STAGES],
                              error_messages={"invalid_choice": "There is no stage %(value)s: choose one from the "
                                                                "list."})
    weeks = forms.TypedChoiceField(
        required=False, label="Period", coerce=int, empty_value=DEFAULT_WEEKS,
        choices=[(str(w), f"Last {w} weeks") for w in PERIOD_WEEKS],
        error_messages={"invalid_choice": "Choose a period of " + ", ".join(map(str, PERIOD_WEEKS)) + " weeks."})
    idle_hours = forms.IntegerField(
        required=False, label="Idle after (hours)", min_value=1, max_value=24 * 90,
        widget=forms.NumberInput(attrs={"class": "narrow"}),
        error_messages={"invalid": "Give the idle hours as a whole number, e.g. 24.",
                        "min_value": "Give the idle hours as at least 1.",
                        "max_value": "Give the idle hours as at most 2160 (90 days)."})

    def __init__(self, data: Mapping[str, str] | None = None, **kwargs) -> None:
        # Unset or empty values take their defaults, so the form shows the period and hours the figures use.
        values = {key: data.get(key) for key in data} if data is not None else {}
        for key, default in (("weeks", DEFAULT_WEEKS), ("idle_hours", DEFAULT_IDLE_HOURS)):
            if not values.get(key):
                values[key] = str(default)
        super().__init__(values, **kwargs)
        # Every team (any role may read the team list); the figures themselves are filtered by visibility.
        self.fields["team"].choices = [("", "Every team"),
                                       *Team.objects.order_by("name").values_list("slug", "name")]

    def scope(self, *, now: datetime | None = None) -> ReportScope:
        """The filters as a ReportScope at ``now``. Raises InvalidParameter (a 400) naming the first bad one."""
        if not self.is_valid():
            field, errors = next(iter(self.errors.items()))
            raise InvalidParameter(field, " ".join(errors))
        data = self.cleaned_data
        return ReportScope(team=data["team"] or "", stage=data["stage"] or "", weeks=data["weeks"] or DEFAULT_WEEKS,
                           idle_hours=data["idle_hours"] or DEFAULT_IDLE_HOURS, now=now or timezone.now())
