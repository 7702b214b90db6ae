"""Cluster add-ons installed after Terraform. (Placeholder: the add-ons engine lands separately.)"""

from __future__ import annotations

from collections.abc import Callable

from .models import Cluster


def install_addons(cluster: Cluster, report: Callable[[str], None]) -> None:
    """Install the cluster's add-ons, reporting one line per step to the job output."""
    report("add-ons: none configured")
