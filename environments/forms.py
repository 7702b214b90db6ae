from __future__ import annotations

from typing import Any

from django import forms

from clusters.models import Cluster
from portal.accounts import rules
from portal.accounts.models import Team

from .models import STAGES, Blueprint


class EnvironmentForm(forms.Form):
    name = forms.CharField(max_length=59, help_text="Lower-case letters, digits and '-'.")
    cluster = forms.ModelChoiceField(queryset=Cluster.objects.all(), to_field_name="name")
    blueprint = forms.ModelChoiceField(queryset=Blueprint.objects.all())
    stage = forms.ChoiceField(choices=STAGES, initial="qa")
    team = forms.ModelChoiceField(queryset=Team.objects.all(), to_field_name="slug")
    ttl_hours = forms.IntegerField(min_value=1, max_value=24 * 30, required=False, initial=48,
                                   label="Expires after (hours)")
    strategy = forms.ChoiceField(choices=[("rolling", "Rolling update"), ("bluegreen", "Blue/green")],
                                 initial="rolling", label="Updates")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not rules.is_platform_admin(user):
            self.fields["team"].queryset = Team.objects.filter(members=user)
            self.fields["stage"].choices = [c for c in STAGES if c[0] != "prod"]
        default = Cluster.objects.filter(is_default=True).first()
        if default:
            self.fields["cluster"].initial = default.name

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

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not rules.is_platform_admin(user):
            self.fields["team"].queryset = Team.objects.filter(members=user)
            self.fields["stage"].choices = [("", "same as source")] + [c for c in STAGES if c[0] != "prod"]
        else:
            self.fields["stage"].choices = [("", "same as source"), *STAGES]

    def clean_stage(self) -> str | None:
        return self.cleaned_data["stage"] or None
