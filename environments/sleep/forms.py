"""The sleep schedule forms: an environment's own schedule, and a default per team and/or stage. The
service checks the values (cron, time zone, idle hours, the stage policy) and names the field it refuses."""

from __future__ import annotations

from django import forms

from portal.accounts.models import Team

from ..catalog.models import STAGES


class _Form(forms.Form):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class SleepScheduleForm(_Form):
    enabled = forms.BooleanField(required=False, label="Enabled", initial=True)
    sleep_cron = forms.CharField(max_length=100, required=False, label="Sleep at (cron)",
                                 help_text="Five fields, e.g. “0 20 * * 1-5” (20:00 on working days). Empty: no "
                                           "sleep time.")
    wake_cron = forms.CharField(max_length=100, required=False, label="Wake at (cron)",
                                help_text="e.g. “0 8 * * 1-5”. Empty: it wakes only when someone opens it.")
    timezone = forms.CharField(max_length=64, initial="UTC", label="Time zone", help_text="e.g. Europe/Berlin.")
    idle_hours = forms.FloatField(required=False, min_value=0.01, label="Sleep after idle (hours)",
                                  help_text="No page, API call, log view or rollout for this long. Empty: never.")

    def values(self) -> dict:
        return dict(self.cleaned_data)


class SleepDefaultForm(SleepScheduleForm):
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), required=False, empty_label="Every team",
                                  to_field_name="slug")
    stage = forms.ChoiceField(choices=[("", "Every stage"), *STAGES], required=False)

    field_order = ["team", "stage", "enabled", "sleep_cron", "wake_cron", "timezone", "idle_hours"]

    def __init__(self, *args, scope_fixed: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if scope_fixed:  # a default's team and stage are its identity: edit the times, or delete it
            del self.fields["team"], self.fields["stage"]

    def values(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k not in ("team", "stage")}
