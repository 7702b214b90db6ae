"""Filters of the environment requests' queue, shared by the page, its CSV export and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from ..catalog.models import STAGES
from .models import EnvironmentRequest


class EnvironmentRequestFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=EnvironmentRequest.STATES, label="State", empty_label="Any state")
    stage = django_filters.ChoiceFilter(choices=STAGES, label="Stage", empty_label="Any stage")
    team = django_filters.CharFilter(field_name="team__slug", label="Team")
    q = django_filters.CharFilter(method="search", label="Name or requester")

    class Meta:
        model = EnvironmentRequest
        fields = ["state", "stage", "team", "q"]

    def search(self, queryset: QuerySet[EnvironmentRequest], name: str, value: str) -> QuerySet[EnvironmentRequest]:
        return queryset.filter(Q(name__icontains=value) | Q(requested_by__username__icontains=value))
