from __future__ import annotations

from typing import Any

from django import forms
from django.urls import reverse

from clusters.models import Cluster
from clusters.selectors import clusters_for_placement
from portal.accounts import rules
from portal.accounts.models import Team

from .models import STAGES, Blueprint
from .policies.policy_checks import approval_needed
from .policies.policy_limits import ttl_limits_for
from .selectors import clone_default_team, new_environment_choices, teams_for_new_environment

# What the New environment form suggests where the stage sets no expiry (empty there means never).
SUGGESTED_TTL_HOURS = 48


class EnvironmentForm(forms.Form):
    name = forms.CharField(max_length=59, help_text="Lower-case letters, digits and '-'.")
    cluster = forms.ModelChoiceField(queryset=Cluster.objects.all(), to_field_name="name")
    blueprint = forms.ModelChoiceField(queryset=Blueprint.objects.all())
    stage = forms.ChoiceField(choices=STAGES, initial="qa")
    team = forms.ModelChoiceField(queryset=Team.objects.all(), to_field_name="slug")
    # Its initial value and help text follow the chosen stage (see __init__ and after_stage_change).
    ttl_hours = forms.IntegerField(min_value=1, max_value=24 * 30, required=False, label="Expires after (hours)")
    strategy = forms.ChoiceField(choices=[("rolling", "Rolling update"), ("bluegreen", "Blue/green")],
                                 initial="rolling", label="Updates")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cluster"].queryset = clusters_for_placement()
        self.fields["team"].queryset = teams_for_new_environment(user)
        if not rules.is_platform_admin(user):
            # Policies (issue 17): production is offered when it is asked for (approval), not created.
            self.fields["stage"].choices = [c for c in STAGES
                                            if c[0] != "prod" or approval_needed(user=user, stage=c[0])]
        # The notice of the chosen stage's and team's limits follows the choice (policies/_notice.html).
        notice = {"hx-get": reverse("policy-notice"), "hx-target": "#policy-notice", "hx-swap": "innerHTML",
                  "hx-trigger": "change", "hx-include": "[name=stage], [name=team]",
                  "hx-sync": "#policy-notice:replace"}  # the last choice's answer wins, never an older one
        self.fields["stage"].widget.attrs.update(notice)
        self.fields["team"].widget.attrs.update(notice)
        self.is_admin = rules.is_platform_admin(user)
        self.choices = new_environment_choices(user=user)
        for name in ("cluster", "team", "blueprint"):
            if getattr(self.choices, name) is not None:
                self.initial.setdefault(name, getattr(self.choices, name))
            if name in self.choices.empty:
                # Shown next to the empty select, and again as the error if the form is sent anyway.
                self.fields[name].empty_reason = self.choices.empty[name]
                self.fields[name].error_messages["required"] = self.choices.empty[name]
        # The expiry shows the chosen stage's default (empty: that default, which the help text says) and
        # its maximum; the page asks for the field again when the stage changes (_ttl_field.html).
        self.ttl = ttl_limits_for(self["stage"].value() or "")
        self.suggested_ttl_hours = self.ttl.default_hours or SUGGESTED_TTL_HOURS
        self.initial.setdefault("ttl_hours", self.suggested_ttl_hours)
        self.fields["ttl_hours"].help_text = self.ttl.hint

    @classmethod
    def after_stage_change(cls, *, user: Any, stage: str, typed: str, suggested: str) -> EnvironmentForm:
        """The unbound form once the stage changed to ``stage``, for its expiry field: a value the form had
        suggested (``typed`` equals ``suggested``) becomes the new stage's; one the person typed, or
        cleared (empty: the stage's default), stays as it is."""
        initial = {"stage": stage}
        if typed.strip() != suggested.strip():
            initial["ttl_hours"] = typed.strip()
        return cls(user=user, initial=initial)

    def versions(self) -> dict[str, str]:
        """The component versions picked in the form (fields named ``version-<component>``)."""
        return {key.removeprefix("version-"): value for key, value in self.data.items()
                if key.startswith("version-") and value}


class CloneForm(forms.Form):
    name = forms.CharField(max_length=59, help_text="Name of the new environment.")
    team = forms.ModelChoiceField(queryset=Team.objects.all(), to_field_name="slug")
    stage = forms.ChoiceField(choices=STAGES, required=False)
    ttl_hours = forms.IntegerField(min_value=1, max_value=24 * 30, required=False, initial=48,
                                   label="Expires after (hours)")

    def __init__(self, *args: Any, user: Any, source: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams = teams_for_new_environment(user)
        if not rules.is_platform_admin(user):
            self.fields["stage"].choices = [("", "same as source")] + [c for c in STAGES if c[0] != "prod"]
        else:
            self.fields["stage"].choices = [("", "same as source"), *STAGES]
        team = clone_default_team(user=user, source=source) if source is not None else None
        if team is not None:
            self.initial.setdefault("team", team)
        if not teams.exists():
            self.fields["team"].empty_reason = self.fields["team"].error_messages["required"] = (
                new_environment_choices(user=user).empty["team"])

    def clean_stage(self) -> str | None:
        return self.cleaned_data["stage"] or None
