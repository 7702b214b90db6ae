"""The rows a benchmark needs before it measures anything (not timed): a catalog of
small components in one blueprint, the stack's control plane registered as the default cluster, a team,
and a Platform admin in it with an API token. Call inside ``bench_slipway``, whose database is migrated
(Django is set up here)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class BenchWorld:
    blueprint: Any
    cluster: Any
    team: Any
    user: Any
    token: str  # the admin's API key (``Authorization: Token …``)
    versions: dict[str, str]  # component → tag, what an environment_create asks for


def seed_bench_world(kube: dict[str, str], *, components: int, prefix: str) -> BenchWorld:
    """Write the catalog (``components`` components of tag 1.0.0, small requests so many
    environments fit on the 3 kwok nodes), the cluster, team ``bench`` and user ``bench-admin``."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from clusters.services import cluster_register
    from environments.models import Blueprint, Component, ImageVersion
    from portal.accounts import roles
    from portal.accounts.models import Team
    from portal.accounts.tokens import api_token_create
    from portal.audit.actor import Actor

    actor = Actor.system("bench")
    made = []
    for n in range(components):
        component = Component.objects.create(
            name=f"{prefix}{n:02d}", image_repository=f"registry.example.com/bench/{prefix}{n:02d}",
            container_port=8080, ingress_path=None, cpu_request="10m", memory_request="16Mi", cpu_limit="20m",
            memory_limit="32Mi")
        ImageVersion.objects.create(component=component, tag="1.0.0")
        made.append(component)
    blueprint = Blueprint.objects.create(name=f"{prefix}-bench", version=1, description=f"{components} components")
    blueprint.components.set(made)
    cluster = cluster_register(actor=actor, name="local", kind="local",
                               kubeconfig=Path(kube["KUBECONFIG"]).read_text(), make_default=True)
    team = Team.objects.create(slug="bench", name="Bench")
    user = get_user_model().objects.create_user("bench-admin", "bench@example.test", "bench-pw-1")
    user.groups.add(Group.objects.get(name=roles.PLATFORM_ADMINS))
    team.members.add(user)
    _, key = api_token_create(actor=actor, user=user, name=f"{prefix}-bench")
    return BenchWorld(blueprint=blueprint, cluster=cluster, team=team, user=user, token=key,
                      versions={c.name: "1.0.0" for c in made})
