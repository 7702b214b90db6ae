"""Telling an owner that an environment expires: e-mail and the chat webhook (the dashboard and the audit
event are the in-app side). Each channel is tried once per expiry; a failure is recorded, never retried
(retrying a flaky mail server from a periodic task is how owners get the same notice every five minutes)
and never stops the reaper.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from portal.notices import notice_send

from .models import Environment


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
    owner = environment.owner.get_username() if environment.owner else "nobody"
    address = environment.owner.email if environment.owner else ""
    return notice_send(subject=subject, body=body, addresses=[address] if address else [],
                       chat_text=f"{subject} (owner: {owner})\n{body}",
                       no_address="skipped: the owner has no e-mail address")
