"""Single sign-on through OpenID Connect, mapping the IdP's group claim to Slipway's roles."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from . import roles


def roles_from_claims(claims: dict) -> set[str]:
    """Slipway roles for the groups in the claim, per SLIPWAY_OIDC_ROLE_MAP (unknown groups ignored)."""
    groups = claims.get(settings.SLIPWAY_OIDC_GROUPS_CLAIM) or []
    if isinstance(groups, str):
        groups = [groups]
    mapping = settings.SLIPWAY_OIDC_ROLE_MAP
    return {mapping[g] for g in groups if g in mapping and mapping[g] in roles.ALL_ROLES}


def apply_roles(user, claims: dict) -> None:
    """Make the user's role groups exactly those the IdP grants (the IdP is the source of truth)."""
    wanted = roles_from_claims(claims)
    role_groups = Group.objects.filter(name__in=roles.ALL_ROLES)
    user.groups.remove(*[g for g in role_groups if g.name not in wanted])
    user.groups.add(*[g for g in role_groups if g.name in wanted])


class RoleMappingOIDCBackend(OIDCAuthenticationBackend):
    def create_user(self, claims):
        user = super().create_user(claims)
        apply_roles(user, claims)
        return user

    def update_user(self, user, claims):
        user = super().update_user(user, claims)
        apply_roles(user, claims)
        return user
