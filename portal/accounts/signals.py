"""Sign-in and sign-out are audited here: Django's auth views only expose them as signals."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.audit.services import audit_record
from portal.request_context import source_ip


@receiver(user_logged_in, dispatch_uid="slipway.audit.login")
def audit_login(sender, request, user, **kwargs) -> None:
    if request is not None:
        audit_record(actor=Actor.from_request(request, user=user), action="user.login", obj=user)


@receiver(user_logged_out, dispatch_uid="slipway.audit.logout")
def audit_logout(sender, request, user, **kwargs) -> None:
    if request is not None and user is not None:
        audit_record(actor=Actor.from_request(request, user=user), action="user.logout", obj=user)


@receiver(user_login_failed, dispatch_uid="slipway.audit.login_failed")
def audit_login_failed(sender, credentials, request=None, **kwargs) -> None:
    # The credentials dict is already scrubbed of the password by Django; keep only the username.
    username = str(credentials.get("username", ""))[:150]
    actor = Actor(name=username or "anonymous")
    if request is not None:
        actor = Actor(name=actor.name, request_id=getattr(request, "request_id", actor.request_id),
                      source_ip=source_ip(request))
    audit_record(actor=actor, action="user.login_failed", object_type="auth.user", object_repr=username,
                 outcome=AuditEvent.FAILURE, error="invalid credentials")
