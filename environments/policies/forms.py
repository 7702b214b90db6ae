"""The Policies page's forms (a stage's policy, a quota) and the refusal of a request."""

from __future__ import annotations

from typing import Any

from django import forms

from portal.accounts.models import Team
from portal.accounts.roles import ALL_ROLES

from .models import StagePolicy
from .services import MAX_TTL_HOURS


class StagePolicyForm(forms.Form):
    default_ttl_hours = forms.IntegerField(min_value=1, max_value=MAX_TTL_HOURS, required=False,
                                           label="Default expiry (hours)", help_text="Applied when none is given.")
    max_ttl_hours = forms.IntegerField(min_value=1, max_value=MAX_TTL_HOURS, required=False,
                                       label="Longest expiry (hours)", help_text="Empty: no limit.")
    allowed_roles = forms.MultipleChoiceField(choices=[(r, r) for r in ALL_ROLES], required=False,
                                              widget=forms.CheckboxSelectMultiple, label="Roles that may create",
                                              help_text="None ticked: the usual rules.")
    sleep_schedule_required = forms.BooleanField(required=False, label="A sleep schedule is required")
    requires_approval = forms.BooleanField(required=False, label="Creation needs a Platform admin's approval")
    extend_on_activity = forms.BooleanField(required=False, label="Activity extends the expiry")

    @staticmethod
    def initial_from(policy: StagePolicy) -> dict[str, Any]:
        return {name: getattr(policy, name) for name in (
            "default_ttl_hours", "max_ttl_hours", "allowed_roles", "sleep_schedule_required", "requires_approval",
            "extend_on_activity")}


class QuotaForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("slug"), required=False, to_field_name="slug",
                                  empty_label="Default (every team without its own)")
    max_per_user = forms.IntegerField(min_value=0, required=False, label="Per person",
                                      help_text="Live environments one person may own; empty: no limit.")
    max_per_team = forms.IntegerField(min_value=0, required=False, label="Per team",
                                      help_text="Live environments of the team; empty: no limit.")


class RefuseForm(forms.Form):
    reason = forms.CharField(max_length=500, label="Reason", help_text="The requester reads it.",
                             widget=forms.TextInput)
