from typing import Any

from django.db.models import QuerySet

from .models import Cluster


def cluster_list(*, user: Any) -> QuerySet[Cluster]:
    """Every role may see clusters (not their credentials): environments are placed on them."""
    return Cluster.objects.all()


def cluster_environments(*, user: Any, cluster: Cluster) -> QuerySet:
    """The live environments on ``cluster`` that ``user`` may see."""
    from environments.models import Environment
    from environments.selectors import environment_list

    return environment_list(user=user).filter(cluster=cluster).exclude(status=Environment.DESTROYED).order_by("name")
