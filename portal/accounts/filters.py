"""Filters of the people pages (users, teams), shared by the pages, their CSV exports and the API."""

from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q

from . import roles
from .models import Team

ACTIVE_CHOICES = [("active", "Active"), ("inactive", "Deactivated")]


class UserFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    role = django_filters.ChoiceFilter(choices=[(r, r) for r in roles.ALL_ROLES], field_name="groups__name",
                                       label="Role", empty_label="Any role")
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all(), field_name="teams", to_field_name="slug",
                                            label="Team", empty_label="Any team")
    status = django_filters.ChoiceFilter(choices=ACTIVE_CHOICES, method="by_status", label="Status",
                                       empty_label="Active and deactivated")

    class Meta:
        model = get_user_model()
        fields = ["q", "role", "team", "status"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(username__icontains=value) | Q(email__icontains=value)
                               | Q(first_name__icontains=value) | Q(last_name__icontains=value))

    def by_status(self, queryset, name, value):
        return queryset.filter(is_active=value == "active")


class TeamFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    member = django_filters.CharFilter(field_name="members__username", label="Member")

    class Meta:
        model = Team
        fields = ["q", "member"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(slug__icontains=value) | Q(name__icontains=value))
