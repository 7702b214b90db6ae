"""Reads shared by the hostname pages and API."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from portal.accounts import rules

from .models import ClusterDns, DnsSweep


def cluster_dns_list() -> QuerySet[ClusterDns]:
    return ClusterDns.objects.select_related("cluster").order_by("cluster__name")


def dns_sweep_list(*, user: Any) -> QuerySet[DnsSweep]:
    """Sweep reports: Platform admins and managers (read-only) see them; nobody else does."""
    if rules.is_platform_admin(user) or rules.is_manager(user):
        return DnsSweep.objects.all()
    return DnsSweep.objects.none()
