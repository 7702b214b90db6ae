"""The history search form, shared by the page and the REST API (one set of rules)."""

from __future__ import annotations

from datetime import timedelta

from django import forms

from .history import HistoryQueryError, parse_text
from .selection import SelectionError, checked_names

AROUND = timedelta(minutes=2)  # "surrounding history" of a live line: this much either side


class HistorySearchForm(forms.Form):
    component = forms.CharField(required=False, max_length=63)
    pod = forms.CharField(required=False, max_length=253)
    start = forms.DateTimeField(required=False, help_text="From (UTC)")
    end = forms.DateTimeField(required=False, help_text="To (UTC)")
    around = forms.DateTimeField(required=False, widget=forms.HiddenInput)
    text = forms.CharField(required=False, max_length=500,
                           help_text='word "a phrase" -excluded, or ?any ?of ?these')
    cursor = forms.CharField(required=False, max_length=4096, widget=forms.HiddenInput)
    limit = forms.IntegerField(required=False, min_value=1, max_value=1000)

    def __init__(self, *args, components: list[str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if components is not None:
            self.fields["component"].widget = forms.Select(choices=[("", "All components")]
                                                           + [(c, c) for c in components])

    def _name(self, field: str, what: str) -> str:
        value = (self.cleaned_data.get(field) or "").strip()
        if value:
            try:
                checked_names([value], what)
            except SelectionError as exc:
                raise forms.ValidationError(str(exc)) from None
        return value

    def clean_component(self) -> str:
        return self._name("component", "Component")

    def clean_pod(self) -> str:
        return self._name("pod", "Pod")

    def clean_text(self):
        try:
            return parse_text(self.cleaned_data.get("text") or "")
        except HistoryQueryError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self):
        data = super().clean()
        around = data.get("around")
        if around:
            data["start"] = data.get("start") or around - AROUND
            data["end"] = data.get("end") or around + AROUND
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError({"end": "The end is before the start."})
        if data.get("pod") and not data.get("component"):
            raise forms.ValidationError({"component": "Choose the pod's component too."})
        return data
