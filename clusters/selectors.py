from typing import Any

from django.db.models import QuerySet

from .models import Cluster


def cluster_list(*, user: Any) -> QuerySet[Cluster]:
    """Every role may see clusters (not their credentials): environments are placed on them."""
    return Cluster.objects.all()
