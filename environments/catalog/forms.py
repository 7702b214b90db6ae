"""Forms of the catalog pages. They parse input; ``catalog`` services validate business rules and save."""

from __future__ import annotations

from typing import Any

import yaml
from django import forms

from portal.safe_yaml import YAMLRefused
from portal.safe_yaml import load as load_yaml

from .models import Component, Registry
from .services import COMPONENT_EDITABLE


class _YAMLField(forms.CharField):
    """YAML (or JSON) text → the value; empty → ``empty``."""

    def __init__(self, *, empty: Any, kind: type | tuple[type, ...], **kwargs: Any) -> None:
        self.empty, self.kind = empty, kind
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 5, "class": "mono", "spellcheck": "false"}))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, (dict, list)):
            return yaml.safe_dump(value, sort_keys=False) if value else ""
        return value

    def clean(self, value: Any) -> Any:
        text = super().clean(value)
        if not text or not text.strip():
            return type(self.empty)(self.empty)
        try:
            loaded = load_yaml(text, what="value")
        except YAMLRefused as exc:
            raise forms.ValidationError(str(exc)) from exc
        if not isinstance(loaded, self.kind):
            kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
            shapes = " or ".join("mapping" if k is dict else "list" for k in kinds)
            raise forms.ValidationError(f"Give a YAML {shapes}.")
        return loaded


class ComponentForm(forms.ModelForm):
    default_env = _YAMLField(empty={}, kind=dict, help_text="NAME: value, one a line (YAML).")
    command = _YAMLField(empty=[], kind=list, help_text="YAML list, e.g. [\"gunicorn\", \"app\"].")
    args = _YAMLField(empty=[], kind=list, help_text="YAML list.")

    class Meta:
        model = Component
        fields = ["name", *COMPONENT_EDITABLE]
        help_texts = {"repository": "Repository on the registry (e.g. shop/web); versions are synced from it."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["name"].disabled = True
        self.fields["registry"].queryset = Registry.objects.all()
        if not self.fields["registry"].queryset.exists():
            self.fields["registry"].empty_reason = (
                "No registry is configured yet: this component's versions are entered by hand, or a Platform admin "
                "adds a registry first (Catalog → Registries → New registry) to have them synced.")

    def validate_unique(self) -> None:
        pass  # the service reports a taken name with its own message

    def _post_clean(self) -> None:
        pass  # model validation is the service's (it knows which rule failed)


class ImageVersionForm(forms.Form):
    tag = forms.CharField(max_length=128)
    digest = forms.CharField(max_length=80, required=False, help_text="sha256:… (optional)")


class RegistryForm(forms.Form):
    name = forms.CharField(max_length=63)
    kind = forms.ChoiceField(choices=Registry.KINDS)
    url = forms.CharField(max_length=255, required=False, label="URL", help_text="v2 registries: the base URL.")
    region = forms.CharField(max_length=32, required=False, help_text="ECR: the AWS region (default: settings).")
    username = forms.CharField(required=False, help_text="v2: user name (or leave empty and give a token).")
    password = forms.CharField(required=False, widget=forms.PasswordInput, label="Password or token")
    access_key_id = forms.CharField(required=False, label="AWS access key id",
                                    help_text="ECR: empty uses Slipway's own AWS credentials.")
    secret_access_key = forms.CharField(required=False, widget=forms.PasswordInput, label="AWS secret access key")
    clear_credentials = forms.BooleanField(required=False, help_text="Forget the stored credentials.")

    def credentials(self) -> dict[str, str] | None:
        """The credentials to store: None keeps the stored ones (secrets are never shown back)."""
        data = self.cleaned_data
        if data.get("clear_credentials"):
            return {}
        if data["kind"] == Registry.ECR and (data.get("access_key_id") or data.get("secret_access_key")):
            return {"access_key_id": data["access_key_id"], "secret_access_key": data["secret_access_key"]}
        if data["kind"] == Registry.V2 and data.get("password"):
            if data.get("username"):
                return {"username": data["username"], "password": data["password"]}
            return {"token": data["password"]}
        return None


class BlueprintForm(forms.Form):
    name = forms.CharField(max_length=63)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    components = forms.ModelMultipleChoiceField(queryset=Component.objects.all(), to_field_name="name",
                                                widget=forms.CheckboxSelectMultiple)
    backing_services = _YAMLField(empty=[], kind=list,
                                  help_text='YAML list, e.g. - {kind: mariadb, name: db, version: "11.4"}; add '
                                            "may_sleep: true to let a sleeping environment scale it to zero too "
                                            "(default: it stays up).")
    stage_overrides = _YAMLField(empty={}, kind=dict,
                                 help_text="YAML: stage → component → replicas, autoscaling_min/max or resources.")
    personal_data = _YAMLField(empty={}, kind=(dict, list), label="Personal data", help_text=(
        "YAML, per store: what a copy out of production masks (mysql: table.column) or leaves out (redis: key "
        "patterns, s3: prefixes), e.g. mysql: [customers.email] / redis: [\"session:*\"] / s3: [uploads/]. A store "
        "not listed is unclassified: its copies out of production need a Platform admin's written reason; an "
        "empty list means nothing personal (mysql: [] says MariaDB holds none)."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.fields["components"].queryset.exists():
            self.fields["components"].empty_reason = self.fields["components"].error_messages["required"] = (
                "No component exists yet, and a blueprint is a set of components: add one first (Catalog → "
                "Components → New component), or import a blueprint document that defines its components.")

    def definition(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"name": data["name"], "description": data.get("description", ""),
                "components": [c.name for c in data["components"]],
                "backing_services": data["backing_services"], "stage_overrides": data["stage_overrides"],
                "personal_data": data["personal_data"]}
