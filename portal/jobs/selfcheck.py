"""The self-check job: proves the worker, database, channel layer and AWS endpoint work together."""

from __future__ import annotations

import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model

from portal import aws


def _database() -> str:
    return f"{get_user_model().objects.count()} user(s) in {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}"


def _channel_layer() -> str:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    token = uuid.uuid4().hex
    async_to_sync(layer.send)(channel, {"type": "selfcheck", "token": token})
    received = async_to_sync(layer.receive)(channel)
    if received.get("token") != token:
        raise RuntimeError("channel layer returned a different message")
    return type(layer).__name__


def _aws() -> str:
    if not aws.endpoint_for("sts"):
        return "no AWS endpoint override configured (real AWS is not called by the self-check)"
    identity = aws.client("sts").get_caller_identity()
    return f"account {identity['Account']} at {aws.endpoint_for('sts')}"


STEPS = [("database", _database), ("channel layer", _channel_layer), ("AWS endpoint", _aws)]


def run_selfcheck(job, reporter, actor) -> None:
    """Run every check, report each, and fail the job once at the end if any failed."""
    failures = []
    for index, (name, check) in enumerate(STEPS, start=1):
        reporter.log(f"checking {name}…")
        try:
            reporter.log(f"  ok: {check()}")
        except Exception as exc:  # report every step, then fail the job once
            failures.append(name)
            reporter.log(f"  FAILED: {type(exc).__name__}: {exc}")
        reporter.progress(index * 100 // len(STEPS), f"{name} checked")
    if failures:
        raise RuntimeError(f"self-check failed: {', '.join(failures)}")
