"""Sending a notice on every configured channel: e-mail to some addresses and the chat webhook.

Shared by the expiry notice (environments/expiry_notice.py) and the budget notices
(environments/cost/budgets.py). Each channel is tried once; a failure is recorded in the outcome, never
retried (retrying a flaky mail server from a periodic task is how people get the same notice every five
minutes) and never raised, so it cannot stop the periodic task that sends it.
"""

from __future__ import annotations

import logging

from django.core.mail import send_mail

from .chat import ChatError, chat_configured, chat_post

logger = logging.getLogger(__name__)


def notice_send(*, subject: str, body: str, addresses: list[str], chat_text: str,
                no_address: str = "skipped: no e-mail address") -> dict[str, str]:
    """E-mail ``subject``/``body`` to ``addresses`` (one message) and post ``chat_text`` when a webhook is
    configured. Returns {channel: "sent" | "skipped: …" | "failed: …"}; ``no_address`` is the e-mail
    outcome when ``addresses`` is empty."""
    outcome = {}
    if not addresses:
        outcome["email"] = no_address
    else:
        try:
            send_mail(subject, body, None, addresses, fail_silently=False)
            outcome["email"] = "sent"
        except Exception as exc:  # any backend error: a notice must not block its periodic task
            logger.warning("notice e-mail %r failed: %s", subject, type(exc).__name__)
            outcome["email"] = f"failed: {type(exc).__name__}"
    if chat_configured():
        try:
            chat_post(chat_text)
            outcome["chat"] = "sent"
        except ChatError as exc:
            logger.warning("notice chat post %r failed: %s", subject, exc)
            outcome["chat"] = f"failed: {exc}"
    return outcome
