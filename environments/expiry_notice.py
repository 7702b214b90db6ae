"""Telling an owner that an environment expires: e-mail and the chat webhook (the dashboard and the audit
event are the in-app side). Each channel is tried once per expiry; a failure is recorded, never retried
(retrying a flaky mail server from a periodic task is how owners get the same notice every five minutes)
and never stops the reaper.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from portal.chat import ChatError, chat_configured, chat_post

from .models import Environment

logger = logging.getLogger(__name__)


def _text(environment: Environment) -> tuple[str, str]:
    url = settings.SLIPWAY_BASE_URL.rstrip("/") + reverse("environment-detail", args=[environment.pk])
    when = environment.expires_at.strftime("%Y-%m-%d %H:%M UTC") if environment.expires_at else "soon"
    subject = f"[Slipway] {environment.name} expires {when}"
    body = (f"Your environment {environment.name} ({environment.team.slug}, {environment.stage}) on "
            f"{environment.cluster.name} expires {when} and will then be destroyed.\n\n"
            f"Keep it: open {url} and press Extend.\n")
    return subject, body


def send_expiry_notice(environment: Environment) -> dict[str, str]:
    """Send the notice on every configured channel; returns {channel: "sent" | "skipped: …" | "failed: …"}."""
    subject, body = _text(environment)
    outcome = {}
    address = environment.owner.email if environment.owner else ""
    if not address:
        outcome["email"] = "skipped: the owner has no e-mail address"
    else:
        try:
            send_mail(subject, body, None, [address], fail_silently=False)
            outcome["email"] = "sent"
        except Exception as exc:  # any backend error: the notice must not block the reaper
            logger.warning("expiry e-mail for %s failed: %s", environment.name, type(exc).__name__)
            outcome["email"] = f"failed: {type(exc).__name__}"
    if chat_configured():
        owner = environment.owner.get_username() if environment.owner else "nobody"
        try:
            chat_post(f"{subject} (owner: {owner})\n{body}")
            outcome["chat"] = "sent"
        except ChatError as exc:
            logger.warning("expiry chat notice for %s failed: %s", environment.name, exc)
            outcome["chat"] = f"failed: {exc}"
    return outcome
