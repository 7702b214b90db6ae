"""Single sign-on through OpenID Connect, mapping the IdP's group claim to Slipway's roles.

Accounts the IdP creates and roles it grants or takes away reach the audit trail like the People
pages' changes, tagged ``"via": "oidc"`` under the actor ``system:oidc``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from portal.audit.actor import Actor
from portal.audit.services import audit_model_change

from . import roles
from .services import user_snapshot

VIA = "oidc"


def roles_from_claims(claims: dict) -> set[str]:
    """Slipway roles for the groups in the claim, per SLIPWAY_OIDC_ROLE_MAP (unknown groups ignored)."""
    groups = claims.get(settings.SLIPWAY_OIDC_GROUPS_CLAIM) or []
    if isinstance(groups, str):
        groups = [groups]
    mapping = settings.SLIPWAY_OIDC_ROLE_MAP
    return {mapping[g] for g in groups if g in mapping and mapping[g] in roles.ALL_ROLES}


def apply_roles(user, claims: dict, *, actor: Actor | None = None) -> None:
    """Make the user's role groups exactly those the IdP grants (the IdP is the source of truth).

    A change of roles is audited as ``user.update`` (under ``actor``, default ``system:oidc``).
    """
    before = user_snapshot(user)
    wanted = roles_from_claims(claims)
    role_groups = Group.objects.filter(name__in=roles.ALL_ROLES)
    user.groups.remove(*[g for g in role_groups if g.name not in wanted])
    user.groups.add(*[g for g in role_groups if g.name in wanted])
    after = user_snapshot(user)
    if before["roles"] != after["roles"]:
        audit_model_change(actor=actor or Actor.system(VIA), action="user.update", obj=user,
                           before={"roles": before["roles"]}, after={"roles": after["roles"]}, via=VIA)


class RoleMappingOIDCBackend(OIDCAuthenticationBackend):
    def _actor(self) -> Actor:
        return Actor.system(VIA, request_id=getattr(getattr(self, "request", None), "request_id", None))

    def create_user(self, claims: dict[str, Any]):
        user = super().create_user(claims)
        audit_model_change(actor=self._actor(), action="user.create", obj=user, before=None,
                           after=user_snapshot(user), via=VIA)
        apply_roles(user, claims, actor=self._actor())
        return user

    def update_user(self, user, claims: dict[str, Any]):
        user = super().update_user(user, claims)
        apply_roles(user, claims, actor=self._actor())
        return user
