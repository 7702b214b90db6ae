from __future__ import annotations

from django import forms

from .models import ClusterDns


class ClusterDnsForm(forms.Form):
    zone = forms.CharField(max_length=253, label="Hosted zone",
                           help_text="Hosted zone id (Z…) or domain name, looked up in Route 53.")
    hostname_pattern = forms.CharField(max_length=253, initial="{environment}.{team}.{zone}",
                                       help_text="Placeholders: {environment} {team} {stage} {cluster} {zone}; "
                                                 "must contain {environment} and end with .{zone}.")
    record_type = forms.ChoiceField(choices=ClusterDns.RECORD_TYPES, initial=ClusterDns.CNAME)
    target = forms.CharField(max_length=253, label="Ingress load-balancer hostname")
    target_zone_id = forms.CharField(max_length=64, required=False, label="Load balancer's hosted zone id",
                                     help_text="Alias records only (e.g. Z35SXDOTRQ7X7K for ELB in us-east-1).")
    ttl = forms.IntegerField(min_value=0, max_value=86400, initial=60, label="TTL (seconds)")

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class HostnameForm(forms.Form):
    hostname = forms.CharField(max_length=253, required=False,
                               help_text="Empty: recompute from the cluster's pattern.")


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.replace(",", "\n").splitlines() if line.strip()]


class ExtraHostnamesForm(forms.Form):
    names = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Extra hostnames",
                            help_text="One per line, inside the cluster's zone.")
    adopted = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Adopted names",
                              help_text="Platform admins: names managed elsewhere, routed but never written.")

    def clean_names(self) -> list[str]:
        return _lines(self.cleaned_data["names"])

    def clean_adopted(self) -> list[str]:
        return _lines(self.cleaned_data["adopted"])
