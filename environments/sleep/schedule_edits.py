"""Use cases that change sleep schedules: an environment's own (set, or cleared to inherit the default),
and the defaults per team and/or stage (Platform admins). Every change is audited with what changed; a
stage whose policy requires a sleep schedule refuses disabling it with a sentence that says so.

A schedule's watermark (``checked_until``) restarts at "now" whenever its times change, so a schedule
edited at 21:00 with a sleep time of 20:00 does not put the environment to sleep at once.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.accounts import authz
from portal.audit.actor import Actor
from portal.audit.services import audit_record, changes_between

from ..models import Environment
from .models import SleepSchedule
from .schedule import schedule_errors, schedule_for, schedule_required

FIELDS = ("enabled", "sleep_cron", "wake_cron", "timezone", "idle_hours")
TIMING = ("sleep_cron", "wake_cron", "timezone")
CHANGE_REFUSED = ("You can change the sleep schedule of your own teams' environments only, and of production "
                  "ones only as a Platform admin.")
DEFAULTS_REFUSED = "Only Platform admins change default sleep schedules."


def _required_message(stage: str) -> str:
    return (f"The {stage} stage requires a sleep schedule (its stage policy): it cannot be disabled, nor left "
            "without a sleep time or idle hours. Change its times instead, or ask a Platform admin to change the "
            "stage policy.")


def _puts_to_sleep(values: dict[str, Any]) -> bool:
    # What the stage policy asks for (as the policy part checks at creation): enabled, and a sleep time or idle hours.
    return bool(values["enabled"] and (values["sleep_cron"] or values["idle_hours"]))


def schedule_values(schedule: SleepSchedule | None) -> dict[str, Any]:
    """The editable fields of a schedule (the model's defaults for None)."""
    schedule = schedule or SleepSchedule()
    return {name: getattr(schedule, name) for name in FIELDS}


def _checked(values: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise ValidationError({name: [f"'{name}' is not a field of a sleep schedule."] for name in unknown})
    errors = schedule_errors(values)
    if errors:
        raise ValidationError(errors)
    return values


def _save(schedule: SleepSchedule, values: dict[str, Any], *, user: Any) -> dict[str, Any]:
    before = schedule_values(schedule) if schedule.pk else {}
    if not schedule.pk or any(before.get(name) != values[name] for name in TIMING) or not before.get("enabled"):
        schedule.checked_until = timezone.now()
    for name, value in values.items():
        setattr(schedule, name, value)
    schedule.updated_by = user if getattr(user, "pk", None) else None
    schedule.save()
    return changes_between(before, schedule_values(schedule))


def _require_environment_change(user: Any, environment: Environment) -> None:
    authz.require(authz.sleep_schedule_can(user, authz.CHANGE, environment), CHANGE_REFUSED)
    if environment.status in (Environment.DESTROYING, Environment.DESTROYED):
        raise ValidationError("This environment is being destroyed.")


@transaction.atomic
def environment_schedule_set(*, actor: Actor, user: Any, environment: Environment, **values: Any) -> SleepSchedule:
    """Give the environment a schedule of its own (or change it): ``values`` are any of enabled, sleep_cron,
    wake_cron, timezone, idle_hours; the missing ones keep the current (or inherited) values."""
    _require_environment_change(user, environment)
    own = SleepSchedule.objects.select_for_update().filter(environment=environment).first()
    values = _checked({**schedule_values(own or schedule_for(environment=environment)), **values})
    if not _puts_to_sleep(values) and schedule_required(environment.stage):
        raise ValidationError({"enabled" if not values["enabled"] else "sleep_cron": [
            _required_message(environment.stage)]})
    schedule = own or SleepSchedule(environment=environment)
    changes = _save(schedule, values, user=user)
    audit_record(actor=actor, action="sleep_schedule.set", obj=environment, team_slug=environment.team.slug,
                 details={"changes": changes, "schedule": schedule.pk})
    return schedule


@transaction.atomic
def environment_schedule_clear(*, actor: Actor, user: Any, environment: Environment) -> SleepSchedule | None:
    """Drop the environment's own schedule: the default then applies (returned; None when none does).
    Refused when the stage requires a schedule and no enabled default would apply."""
    _require_environment_change(user, environment)
    own = SleepSchedule.objects.select_for_update().filter(environment=environment).first()
    if own is None:
        return schedule_for(environment=environment)
    before = schedule_values(own)
    own.delete()
    inherited = schedule_for(environment=environment)
    if schedule_required(environment.stage) and (inherited is None or not _puts_to_sleep(schedule_values(inherited))):
        raise ValidationError(_required_message(environment.stage))
    audit_record(actor=actor, action="sleep_schedule.cleared", obj=environment, team_slug=environment.team.slug,
                 details={"changes": changes_between(before, {}), "now_inherits": getattr(inherited, "pk", None)})
    return inherited


# --- defaults per team and/or stage ------------------------------------------------------------------------

def _require_defaults(user: Any, action: str) -> None:
    authz.require(authz.sleep_default_can(user, action), DEFAULTS_REFUSED)


def _default_refusals(team: Any, stage: str, values: dict[str, Any]) -> None:
    if team is None and not stage:
        raise ValidationError({"stage": ["Choose a team, a stage or both: a default applies to one of them."]})
    if not _puts_to_sleep(values) and stage and schedule_required(stage):
        raise ValidationError({"enabled" if not values["enabled"] else "sleep_cron": [_required_message(stage)]})


def _scope(schedule: SleepSchedule) -> dict[str, Any]:
    return {"team": getattr(schedule.team, "slug", None), "stage": schedule.stage}


def _saved_default(schedule: SleepSchedule, values: dict[str, Any], *, user: Any) -> dict[str, Any]:
    try:
        with transaction.atomic():
            return _save(schedule, values, user=user)
    except IntegrityError:
        raise ValidationError({"stage": ["There is already a default for this team and stage; edit that one."]}) \
            from None


@transaction.atomic
def sleep_default_create(*, actor: Actor, user: Any, team: Any = None, stage: str = "", **values: Any) -> SleepSchedule:
    """A default schedule for ``team`` and/or ``stage`` (one per pair)."""
    _require_defaults(user, authz.CREATE)
    values = _checked({**schedule_values(None), **values})
    _default_refusals(team, stage, values)
    schedule = SleepSchedule(team=team, stage=stage or "")
    changes = _saved_default(schedule, values, user=user)
    audit_record(actor=actor, action="sleep_default.created", obj=schedule,
                 details={**_scope(schedule), "changes": changes})
    return schedule


@transaction.atomic
def sleep_default_update(*, actor: Actor, user: Any, schedule: SleepSchedule, **values: Any) -> SleepSchedule:
    """Change a default's times, time zone, idle hours or enabled (its team and stage stay)."""
    _require_defaults(user, authz.CHANGE)
    if schedule.environment_id:
        raise PermissionDenied("This is an environment's own schedule, not a default.")
    values = _checked({**schedule_values(schedule), **values})
    _default_refusals(schedule.team, schedule.stage, values)
    changes = _saved_default(schedule, values, user=user)
    audit_record(actor=actor, action="sleep_default.changed", obj=schedule,
                 details={**_scope(schedule), "changes": changes})
    return schedule


@transaction.atomic
def sleep_default_delete(*, actor: Actor, user: Any, schedule: SleepSchedule) -> None:
    """Delete a default; refused for a stage that requires a schedule (disable is refused there too)."""
    _require_defaults(user, authz.CHANGE)
    if schedule.environment_id:
        raise PermissionDenied("This is an environment's own schedule, not a default.")
    if schedule.stage and schedule_required(schedule.stage):
        raise ValidationError(_required_message(schedule.stage))
    details = {**_scope(schedule), "changes": changes_between(schedule_values(schedule), {})}
    audit_record(actor=actor, action="sleep_default.deleted", obj=schedule, details=details)
    schedule.delete()
