from __future__ import annotations

from typing import Any

from django import forms

from .models import KINDS
from .policy import PersonalData
from .row_filter import row_filter_errors
from .selectors import CopySources


def _suggested_rule(column: str) -> str:
    name = column.rpartition(".")[2].lower()
    for rule in ("email", "phone", "name"):
        if rule in name:
            return rule
    return "hash"


def parse_lines(text: str, separator: str, what: str) -> dict[str, str]:
    """``key<sep>value`` per line (blank lines and ``#`` comments ignored); raises ValidationError."""
    result = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(separator)
        if not sep or not key.strip() or not value.strip():
            raise forms.ValidationError(f"{what}, line {number}: write it as 'KEY {separator} VALUE'.")
        result[key.strip()] = value.strip()
    return result


class DataCopyForm(forms.Form):
    source = forms.ModelChoiceField(queryset=None, label="Copy data from")
    stores = forms.MultipleChoiceField(choices=KINDS, widget=forms.CheckboxSelectMultiple, label="Stores")
    include_tables = forms.CharField(required=False, label="Only these tables (MariaDB, comma-separated)")
    exclude_tables = forms.CharField(required=False, label="Skip these tables (MariaDB, comma-separated)")
    filters = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                              label="Row filters for a subset (one per line: table: WHERE expression)",
                              help_text="e.g. orders: created_at >= NOW() - INTERVAL 30 DAY")
    masking = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}),
                              label="Masking rules (one per line: table.column = rule)",
                              help_text="rules: email, name, phone, hash, null, keep, fixed:VALUE")
    confirm = forms.CharField(required=False, label="Type the target environment's name to confirm")
    override_reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                      label="Platform admins: why production data that is not masked or "
                                            "excluded may leave production")

    def __init__(self, *args: Any, sources: CopySources, target, **kwargs: Any) -> None:
        personal = PersonalData.of(target.blueprint).entries("mysql")
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("masking", "\n".join(f"{c} = {_suggested_rule(c)}" for c in personal))
        kwargs["initial"].setdefault("stores", sources.kinds)
        super().__init__(*args, **kwargs)
        # Only sources with a store of a kind the target has, each labelled with the kinds they share;
        # only the target's kinds of store (the service still checks the pair).
        self.fields["source"].queryset = sources.sources
        self.fields["source"].label_from_instance = sources.label
        self.fields["stores"].choices = [(kind, name) for kind, name in KINDS if kind in sources.kinds]
        if len(sources.sources) == 1:  # the only source, and only the stores both have, ticked
            only = sources.sources[0]
            self.initial.setdefault("source", only)
            self.initial["stores"] = sources.shared[only.pk]

    def clean_filters(self) -> dict[str, str]:
        filters = parse_lines(self.cleaned_data["filters"], ":", "Row filters")
        errors = row_filter_errors(filters)
        if errors:
            raise forms.ValidationError(errors)
        return filters

    def clean_masking(self) -> dict[str, Any]:
        rules = parse_lines(self.cleaned_data["masking"], "=", "Masking rules")
        return {column: {"rule": "fixed", "value": rule[6:]} if rule.startswith("fixed:") else rule
                for column, rule in rules.items()}

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        mysql: dict[str, Any] = {}
        for name in ("include_tables", "exclude_tables"):
            tables = [t.strip() for t in data[name].split(",") if t.strip()]
            if tables:
                mysql[name] = tables
        if data["filters"]:
            mysql["filters"] = data["filters"]
        options = {**({"mysql": mysql} if mysql else {}), **({"masking": data["masking"]} if data["masking"] else {})}
        return {"source": data["source"], "stores": data["stores"], "options": options, "confirm": data["confirm"],
                "override_reason": data["override_reason"]}
