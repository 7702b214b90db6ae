"""Filters of the chaos run lists, shared by the pages, their CSV exports and the API."""

from __future__ import annotations

import django_filters

from .models import ChaosExperiment, ChaosRun


class ChaosRunFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ChaosRun.STATUSES, label="Status", empty_label="Any status")
    fault = django_filters.ChoiceFilter(choices=ChaosExperiment.FAULTS, label="Fault", empty_label="Any fault")
    revision = django_filters.NumberFilter(field_name="revision_number", min_value=1, label="Revision")
    environment = django_filters.NumberFilter(field_name="environment_id", min_value=1, label="Environment id")
    experiment = django_filters.NumberFilter(field_name="experiment_id", min_value=1, label="Experiment id")

    class Meta:
        model = ChaosRun
        fields = ["status", "fault", "revision", "environment", "experiment"]


class ChaosExperimentFilter(django_filters.FilterSet):
    environment = django_filters.NumberFilter(field_name="environment_id", min_value=1, label="Environment id")
    fault = django_filters.ChoiceFilter(choices=ChaosExperiment.FAULTS, label="Fault")
    paused = django_filters.BooleanFilter(label="Paused")

    class Meta:
        model = ChaosExperiment
        fields = ["environment", "fault", "paused"]
