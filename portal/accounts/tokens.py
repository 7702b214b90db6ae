"""API tokens: created by a service, stored as a digest, checked by a DRF authentication class."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions

from portal.audit.actor import Actor
from portal.audit.services import audit_record

from .models import ApiToken


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(*, actor: Actor, user: Any, name: str = "api") -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the row and the key, which is never stored or shown again."""
    key = "slw_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name[:100], prefix=key[4:12], digest=_digest(key))
    audit_record(actor=actor, action="api_token.create", obj=token, details={"user": user.get_username(),
                                                                             "prefix": token.prefix})
    return token, key


class HashedTokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>``, matched by digest so a database leak reveals no usable key."""

    def authenticate_credentials(self, key: str):
        token = ApiToken.objects.select_related("user").filter(digest=_digest(key)).first()
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        if token.last_used_at is None or (timezone.now() - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return token.user, token
