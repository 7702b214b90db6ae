"""TEMPORARY stand-in for the sleep part's services (branch i17-sleep owns this file): the contract's
signatures, moving the status without any job, so the wake part runs before i17-sleep is merged.
The lead takes i17-sleep's version."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from portal.accounts import authz
from portal.audit.actor import Actor
from portal.audit.services import audit_record

from ..lifecycle import environment_transition
from ..models import Environment
from .models import SleepState
from .selectors import sleep_refusal


def environment_sleep(*, actor: Actor, user: Any | None, environment: Environment, reason: str = "manual") -> Any:
    if user is not None and not authz.environment_can(user, authz.CHANGE, environment):
        raise PermissionDenied("You may not change this environment.")
    refusal = sleep_refusal(environment)
    if refusal:
        raise ValidationError(refusal)
    environment_transition(environment, Environment.SLEEPING, actor=actor)
    environment_transition(environment, Environment.ASLEEP, actor=actor)
    SleepState.objects.update_or_create(environment=environment, defaults={"slept_at": timezone.now(),
                                                                           "reason": reason})
    audit_record(actor=actor, action="environment.sleep", obj=environment, details={"reason": reason})
    return None


def environment_wake(*, actor: Actor, user: Any | None, environment: Environment, reason: str = "manual") -> Any:
    environment = Environment.objects.select_for_update().get(pk=environment.pk)
    if environment.status != Environment.ASLEEP:
        return None
    if user is not None and not authz.environment_can(user, authz.CHANGE, environment):
        raise PermissionDenied("You may not change this environment.")
    environment_transition(environment, Environment.WAKING, actor=actor)
    SleepState.objects.update_or_create(environment=environment, defaults={"wake_requested_at": timezone.now(),
                                                                           "reason": reason})
    audit_record(actor=actor, action="environment.wake", obj=environment, details={"reason": reason})
    return None
