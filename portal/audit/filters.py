"""The audit trail's filters, shared by the page, the CSV export and the API."""

from __future__ import annotations

import django_filters
from django import forms

from .models import AuditEvent


class AuditEventFilter(django_filters.FilterSet):
    # Exact matches, so the composite (column, -timestamp) indexes serve every filtered page.
    actor = django_filters.CharFilter(field_name="actor_name", lookup_expr="exact", label="Actor")
    team = django_filters.CharFilter(field_name="team_slug", lookup_expr="exact", label="Team")
    action = django_filters.CharFilter(field_name="action", lookup_expr="startswith", label="Action")
    object_type = django_filters.CharFilter(field_name="object_type", lookup_expr="exact", label="Object type")
    object_id = django_filters.CharFilter(field_name="object_id", lookup_expr="exact", label="Object id")
    outcome = django_filters.ChoiceFilter(choices=AuditEvent.OUTCOMES, label="Outcome")
    request_id = django_filters.CharFilter(field_name="request_id", label="Request id")
    date_from = django_filters.DateFilter(field_name="timestamp", lookup_expr="date__gte", label="From",
                                          widget=forms.DateInput(attrs={"type": "date"}))
    date_to = django_filters.DateFilter(field_name="timestamp", lookup_expr="date__lte", label="To",
                                        widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = AuditEvent
        fields = ["actor", "team", "action", "object_type", "object_id", "outcome", "request_id",
                  "date_from", "date_to"]
