"""The chaos pages' forms: an environment's opt-in and limits, an experiment, the YAML document."""

from __future__ import annotations

import zoneinfo

from django import forms

from .models import ChaosExperiment, ChaosSettings

TIME_INPUT = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
WEEKDAYS = [(1, "Mon"), (2, "Tue"), (3, "Wed"), (4, "Thu"), (5, "Fri"), (6, "Sat"), (7, "Sun")]


class _Form(forms.Form):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class ChaosSettingsForm(_Form):
    """Opt-in and what "recovered" means. The approval reason only shows for production (admins)."""

    enabled = forms.BooleanField(required=False, label="Chaos experiments enabled",
                                 help_text="Off by default; experiments inject real faults into this environment.")
    slo_seconds = forms.IntegerField(min_value=1, max_value=3600, initial=30, label="Recovery SLO (seconds)",
                                     help_text="A fault recovered when the steady state held again within this time.")
    availability_target = forms.FloatField(min_value=0, max_value=100, initial=99.0, label="Availability target (%)")
    badge_runs = forms.IntegerField(min_value=1, max_value=50, initial=3, label="Runs for the chaos-ready badge",
                                    help_text="The last this many runs on the current revision must all pass.")
    approval_reason = forms.CharField(max_length=300, required=False, label="Approval reason (production)",
                                      help_text="Platform admins: why this production environment may take faults.")

    def __init__(self, *args, production: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not production:
            del self.fields["approval_reason"]

    @staticmethod
    def initial_from(current: ChaosSettings) -> dict:
        return {"enabled": current.enabled, "slo_seconds": current.slo_seconds,
                "availability_target": current.availability_target, "badge_runs": current.badge_runs,
                "approval_reason": current.approval_reason}


class ChaosExperimentForm(_Form):
    """One experiment. Business rules (target exists, cron parses, window) are the service's."""

    name = forms.CharField(max_length=63, help_text="Lower-case letters, digits and dashes.")
    fault = forms.ChoiceField(choices=ChaosExperiment.FAULTS)
    target = forms.CharField(max_length=63, required=False, label="Target component or backing service",
                             help_text="Empty: a random component each run.")
    percent = forms.IntegerField(min_value=1, max_value=100, initial=50, label="Percent of pods",
                                 help_text="For “Kill a percentage of pods”.")
    duration_seconds = forms.IntegerField(min_value=1, max_value=3600, initial=30, label="Duration (seconds)",
                                          help_text="How long a temporary fault lasts before it is undone.")
    schedule = forms.ChoiceField(choices=ChaosExperiment.SCHEDULES, initial=ChaosExperiment.ONCE)
    interval_seconds = forms.IntegerField(min_value=1, required=False, label="Every (seconds)")
    cron = forms.CharField(max_length=100, required=False, label="Cron expression",
                           help_text="Five fields, e.g. “*/30 10-15 * * 1-5”.")
    window_days = forms.TypedMultipleChoiceField(choices=WEEKDAYS, coerce=int, required=False,
                                                 widget=forms.CheckboxSelectMultiple, label="Allowed days",
                                                 help_text="None ticked: any day.")
    window_start = forms.TimeField(required=False, label="Window starts", widget=TIME_INPUT)
    window_end = forms.TimeField(required=False, label="Window ends", widget=TIME_INPUT)
    timezone = forms.CharField(max_length=64, initial="UTC", label="Time zone", help_text="e.g. Europe/Berlin.")
    max_down_percent = forms.IntegerField(min_value=1, max_value=100, initial=100, label="Blast radius (%)",
                                          help_text="Never more than this share of a component's pods down at once.")

    def clean_timezone(self) -> str:
        value = self.cleaned_data["timezone"].strip() or "UTC"
        if value not in zoneinfo.available_timezones():
            raise forms.ValidationError(f"Unknown time zone “{value[:64]}”; use a name such as Europe/Berlin or UTC.")
        return value

    @staticmethod
    def initial_from(experiment: ChaosExperiment) -> dict:
        return {name: getattr(experiment, name) for name in EXPERIMENT_FIELDS}


EXPERIMENT_FIELDS = tuple(ChaosExperimentForm.base_fields)


class ChaosDocumentForm(_Form):
    document = forms.CharField(widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false"}),
                               label="Chaos document (YAML)")
