import json

from django import forms

from .models import Cluster

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

    def clean_node_groups(self):
        try:
            return json.loads(self.cleaned_data["node_groups"] or "[]")
        except ValueError as exc:
            raise forms.ValidationError(f"Node groups are not valid JSON: {exc}") from exc
