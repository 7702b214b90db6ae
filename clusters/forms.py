from __future__ import annotations

import json
from typing import Any

from django import forms
from django.conf import settings

from .models import Cluster
from .terraform import BlueprintMissing, blueprint_dir

DEFAULT_NODE_GROUPS = [{"name": "default", "instance_types": ["m5.large"], "min_size": 1, "desired_size": 2,
                        "max_size": 3}]


class ClusterCreateForm(forms.Form):
    name = forms.SlugField(max_length=40, help_text="lowercase letters, digits and hyphens")
    kind = forms.ChoiceField(choices=[(Cluster.LOCAL, "Local control plane (kwok)"), (Cluster.AWS_EKS, "AWS EKS")])
    region = forms.CharField(max_length=30, required=False, help_text="AWS region (aws-eks only)")
    kubernetes_version = forms.CharField(max_length=20, required=False, initial="1.33")
    node_groups = forms.CharField(widget=forms.Textarea(attrs={"rows": 6, "class": "mono"}),
                                  initial=json.dumps(DEFAULT_NODE_GROUPS, indent=2),
                                  help_text="JSON: name, instance_types, min_size, desired_size, max_size")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Offer only kinds whose Terraform blueprint is installed (an image may ship without one); when none
        # is, the page says so and points to registering an existing cluster instead.
        kinds = []
        for kind, label in self.fields["kind"].choices:
            try:
                blueprint_dir(kind)
            except BlueprintMissing:
                continue
            kinds.append((kind, label))
        self.fields["kind"].choices = kinds
        if not kinds:
            self.fields["kind"].empty_reason = self.fields["kind"].error_messages["required"] = (
                f"No Terraform blueprint is installed in {settings.SLIPWAY_TERRAFORM_BLUEPRINTS_DIR} (one folder "
                f"of .tf files per kind: local, aws-eks), so Slipway cannot create clusters here. Register an "
                f"existing cluster by kubeconfig instead.")

    def clean_node_groups(self):
        try:
            return json.loads(self.cleaned_data["node_groups"] or "[]")
        except ValueError as exc:  # the position only: JSONDecodeError's text is bounded, the value is not quoted
            raise forms.ValidationError(f"Node groups are not valid JSON: {exc}") from exc
        except RecursionError as exc:
            raise forms.ValidationError("Node groups are nested too deeply to be node groups.") from exc


class SecretTextarea(forms.Textarea):
    """A textarea whose submitted value is never sent back to the browser (as PasswordInput with
    ``render_value=False``): a refused kubeconfig holds credentials, and pages never show secrets."""

    def format_value(self, value):
        return None


class ClusterRegisterForm(forms.Form):
    """An existing cluster: a kubeconfig (pasted or uploaded), or endpoint + CA + token."""

    name = forms.SlugField(max_length=63, help_text="Lower-case letters, digits and '-'.")
    kubeconfig = forms.CharField(widget=SecretTextarea(attrs={"rows": 8, "autocomplete": "off", "spellcheck": "false"}),
                                 required=False, help_text="Paste a kubeconfig (its current context is used; "
                                                           "after an error, paste it again: it is not sent back).")
    kubeconfig_file = forms.FileField(required=False, label="or upload a kubeconfig file")
    server = forms.CharField(max_length=300, required=False, label="API server endpoint",
                             help_text="https://… — instead of a kubeconfig, with a token")
    ca_data = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}), required=False,
                              label="CA certificate (base64 PEM)", help_text="certificate-authority-data")
    # render_value=False: a refused token is never sent back to the browser.
    token = forms.CharField(widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                            required=False, label="Bearer token")
    make_default = forms.BooleanField(required=False, label="Default cluster for new environments")

    def credentials(self) -> dict[str, str]:
        data = self.cleaned_data
        upload = data.get("kubeconfig_file")
        kubeconfig = upload.read().decode("utf-8", errors="replace") if upload else data.get("kubeconfig", "")
        return {"kubeconfig": kubeconfig, "server": data.get("server", ""), "ca_data": data.get("ca_data", ""),
                "token": data.get("token", "")}
