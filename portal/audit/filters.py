"""The audit trail's filters, shared by the page, the CSV export and the API."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q

from . import choices
from .models import AuditEvent


class AuditEventFilter(django_filters.FilterSet):
    # Exact matches, so the composite (column, -timestamp) indexes serve every filtered page.
    actor = django_filters.CharFilter(field_name="actor_name", lookup_expr="exact", label="Actor",
                                      widget=forms.TextInput(attrs={"list": "audit-actors", "autocomplete": "off"}))
    team = django_filters.CharFilter(field_name="team_slug", lookup_expr="exact", label="Team",
                                     widget=forms.TextInput(attrs={"list": "audit-teams", "autocomplete": "off"}))
    action = django_filters.CharFilter(method="by_action", label="Action",
                                       help_text="An action, or a kind followed by a dot (environment.) for all of "
                                                 "that kind's actions.")
    object_type = django_filters.CharFilter(field_name="object_type", lookup_expr="exact", label="Object type")
    object_id = django_filters.CharFilter(field_name="object_id", lookup_expr="exact", label="Object id")
    outcome = django_filters.ChoiceFilter(choices=AuditEvent.OUTCOMES, label="Outcome", empty_label="Any outcome")
    request_id = django_filters.CharFilter(field_name="request_id", label="Request id")
    date_from = django_filters.DateFilter(field_name="timestamp", lookup_expr="date__gte", label="From",
                                          widget=forms.DateInput(attrs={"type": "date"}))
    date_to = django_filters.DateFilter(field_name="timestamp", lookup_expr="date__lte", label="To",
                                        widget=forms.DateInput(attrs={"type": "date"}))
    hide_noise = django_filters.BooleanFilter(
        method="without_noise", widget=forms.CheckboxInput, label="Hide routine events",
        help_text="Sign-ins and -outs, health and drift checks, log views (their failures stay).")

    class Meta:
        model = AuditEvent
        fields = ["actor", "team", "action", "object_type", "object_id", "outcome", "request_id",
                  "date_from", "date_to", "hide_noise"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Selects of the values the trail holds; the fields stay free text, so API clients may pass any
        # action or prefix, and a value no longer in the data still shows as selected.
        fields = self.form.fields
        fields["action"].widget = forms.Select(choices=choices.action_choices(self.data.get("action", "")))
        fields["object_type"].widget = forms.Select(
            choices=choices.object_type_choices(self.data.get("object_type", "")))

    def by_action(self, queryset, name, value):
        # "environment." selects the kind; "user.login" is exact (not user.login_failed); a bare
        # "environment" (older API clients' prefix) selects the kind too.
        if value.endswith("."):
            return queryset.filter(action__startswith=value)
        return queryset.filter(Q(action=value) | Q(action__startswith=f"{value}."))

    def without_noise(self, queryset, name, value):
        if not value:
            return queryset
        noisy = Q(action__in=choices.NOISY_ACTIONS)
        for prefix in choices.NOISY_PREFIXES:
            noisy |= Q(action__startswith=prefix)
        return queryset.exclude(noisy & Q(outcome=AuditEvent.SUCCESS))
