"""Filters of the catalog lists, shared by the pages, their CSV exports and the API."""

from __future__ import annotations

import django_filters
from django.db.models import Max, OuterRef, Q, Subquery

from .models import Blueprint, Component, ImageVersion, Registry


class ComponentFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Name or image")
    registry = django_filters.CharFilter(field_name="registry__name", label="Registry")
    linked = django_filters.BooleanFilter(field_name="registry", lookup_expr="isnull", exclude=True,
                                          label="Linked to a registry")

    class Meta:
        model = Component
        fields = ["q", "registry", "linked"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(image_repository__icontains=value))


class ImageVersionFilter(django_filters.FilterSet):
    component = django_filters.CharFilter(field_name="component__name", label="Component")
    tag = django_filters.CharFilter(field_name="tag", lookup_expr="icontains", label="Tag")
    removed = django_filters.BooleanFilter(field_name="removed_from_registry", label="Removed from registry")
    discovered = django_filters.BooleanFilter(field_name="discovered", label="Discovered by sync")

    class Meta:
        model = ImageVersion
        fields = ["component", "tag", "removed", "discovered"]


class BlueprintFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name")
    component = django_filters.CharFilter(field_name="components__name", label="Has component")
    latest = django_filters.BooleanFilter(method="only_latest", label="Latest versions only")

    class Meta:
        model = Blueprint
        fields = ["name", "component", "latest"]

    def only_latest(self, queryset, name, value):
        if not value:
            return queryset
        newest = Blueprint.objects.filter(name=OuterRef("name")).values("name").annotate(v=Max("version")).values("v")
        return queryset.filter(version=Subquery(newest))


class RegistryFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Registry.KINDS)

    class Meta:
        model = Registry
        fields = ["kind"]
