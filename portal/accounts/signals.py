"""Sign-in, sign-out and lockouts are audited here: Django's auth views and axes only expose them as signals.

A single failed sign-in is not audited: anyone can send one, with any username, as often as they
like. django-axes counts them (one row per account and address, cleared after the cool-off) and the
trail gets one event when an existing account is locked out, under the actor "anonymous" with the
client address the proxies vouch for.
"""

from __future__ import annotations

import uuid

from axes.helpers import get_failure_limit
from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.audit.services import audit_record
from portal.request_context import source_ip

ANONYMOUS = "anonymous"


@receiver(user_logged_in, dispatch_uid="slipway.audit.login")
def audit_login(sender, request, user, **kwargs) -> None:
    if request is not None:
        audit_record(actor=Actor.from_request(request, user=user), action="user.login", obj=user)


@receiver(user_logged_out, dispatch_uid="slipway.audit.logout")
def audit_logout(sender, request, user, **kwargs) -> None:
    if request is not None and user is not None:
        audit_record(actor=Actor.from_request(request, user=user), action="user.logout", obj=user)


@receiver(user_locked_out, dispatch_uid="slipway.audit.locked_out")
def audit_locked_out(sender, request, username, ip_address, **kwargs) -> None:
    # Axes signals on the failure that reaches the limit and again on every refused attempt after
    # it; only the first is news. Unknown usernames stay in axes' own table, off the permanent trail.
    failures = getattr(request, "axes_failures_since_start", None)
    if request is None or failures != get_failure_limit(request, getattr(request, "axes_credentials", None)):
        return
    user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username or ""}).first()
    if user is None:
        return
    actor = Actor(name=ANONYMOUS, request_id=getattr(request, "request_id", None) or uuid.uuid4().hex,
                  source_ip=source_ip(request))
    audit_record(actor=actor, action="user.locked_out", obj=user, outcome=AuditEvent.FAILURE,
                 error=f"{failures} failed sign-ins from {actor.source_ip or 'an unknown address'}",
                 details={"failures": failures})
