"""The removal confirmation: which orphans (ids from the list's checkboxes) and the admin's explicit yes."""

from __future__ import annotations

from django import forms


class OrphanRemovalForm(forms.Form):
    orphans = forms.TypedMultipleChoiceField(coerce=int, label="Orphans", widget=forms.MultipleHiddenInput,
                                             error_messages={"required": "Choose at least one orphan to remove."})
    confirm = forms.BooleanField(label="I understand these are deleted for good", required=True,
                                 error_messages={"required": "Tick the box to confirm the removal."})

    def __init__(self, *args, choices: list[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["orphans"].choices = [(pk, str(pk)) for pk in choices]
        self.fields["orphans"].error_messages["invalid_choice"] = (
            "One of the chosen orphans cannot be removed any more (removed, gone, or not found); go back to the list.")
