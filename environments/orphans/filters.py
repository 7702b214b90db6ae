"""Filters of the orphan list, shared by the page, its CSV export and the API."""

from __future__ import annotations

import django_filters

from .models import Orphan


class OrphanFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Orphan.KINDS, label="Kind", empty_label="Any kind")
    state = django_filters.ChoiceFilter(choices=Orphan.STATES, label="State", empty_label="Any state")
    location = django_filters.CharFilter(lookup_expr="icontains", label="Location contains", max_length=200)

    class Meta:
        model = Orphan
        fields = ["kind", "state", "location"]
