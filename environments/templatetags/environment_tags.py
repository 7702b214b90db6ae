"""Environment cards that other apps' pages show, so those apps need not import environments."""

from __future__ import annotations

from typing import Any

from django import template

from clusters.models import Cluster

from ..selectors import environment_list_on_cluster

register = template.Library()


@register.inclusion_tag("environments/_cluster_environments.html", takes_context=True)
def cluster_environments(context: template.Context, cluster: Cluster) -> dict[str, Any]:
    """The cluster page's "Environments on this cluster" card: the live ones the viewer may see.

    A template tag rather than a view variable: clusters sit below environments and import nothing
    from them, while the cluster page still lists what runs on the cluster.
    """
    return {"environments": environment_list_on_cluster(user=context["request"].user, cluster=cluster)}
