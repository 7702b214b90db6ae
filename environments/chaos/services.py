"""Chaos use cases around experiments: an environment's opt-in and limits (production only with a
Platform admin's approval), and experiments — created, changed, paused and deleted with every rule
checked and a clear message per field. Each one is audited. Runs and kill switches are in ``runs.py``.
"""

from __future__ import annotations

from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.accounts import authz, rules
from portal.audit.actor import Actor
from portal.audit.services import audit_record, audited, changes_between

from ..catalog.models import DNS_LABEL
from ..models import Environment
from .models import ChaosExperiment, ChaosRun, ChaosSettings
from .schedule import next_run_after

CHANGE_REFUSED = ("You can change chaos experiments of your own teams' environments only, and of production "
                  "ones only as a Platform admin.")
SETTINGS_FIELDS = ("enabled", "slo_seconds", "availability_target", "badge_runs")
EXPERIMENT_FIELDS = ("name", "fault", "target", "percent", "duration_seconds", "schedule", "interval_seconds",
                     "cron", "window_days", "window_start", "window_end", "timezone", "max_down_percent", "paused")
# Backing services Slipway runs as StatefulSets in non-production namespaces (environments/render/backing.py).
SCALABLE_BACKING = frozenset({"mariadb", "redis"})
# Faults that take every pod of their target down at once: only a 100 % blast radius lets them run.
WHOLE_TARGET = {ChaosExperiment.POD_KILL_ALL: "Killing all pods", ChaosExperiment.NETWORK_CUT: "A network cut",
                ChaosExperiment.BACKING_SCALE_ZERO: "Scaling a backing service to zero"}
POD_FAULTS = frozenset({ChaosExperiment.POD_KILL, ChaosExperiment.POD_KILL_PERCENT, ChaosExperiment.NODE_FAILURE})


def _require_change(user: Any, environment: Environment) -> None:
    if not authz.chaos_can(user, authz.CHANGE, environment):
        raise PermissionDenied(CHANGE_REFUSED)


def _require_live(environment: Environment) -> None:
    if environment.status in (Environment.DESTROYING, Environment.DESTROYED):
        raise ValidationError("This environment is being destroyed.")


def _unknown(given: dict[str, Any], known: tuple[str, ...], what: str) -> None:
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ValidationError({name: [f"'{name}' is not a field of {what}."] for name in unknown})


def _may_change(user: Any, environment: Environment, given: dict[str, Any], known: tuple[str, ...],
                what: str) -> None:
    """The checks every change starts with: who, a live environment, only known fields."""
    _require_change(user, environment)
    _require_live(environment)
    _unknown(given, known, what)


def _whole(value: Any) -> int | None:
    """``value`` as an int when it is a whole number (an int, or digits in a string), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _in_range(errors: dict[str, list[str]], values: dict[str, Any], name: str, low: int, high: int,
              message: str) -> None:
    number = _whole(values.get(name))
    if number is None or not low <= number <= high:
        errors[name] = [message]
    else:
        values[name] = number


# ---------------------------------------------------------------------------------------------------
# Settings: opt-in and what "recovered" means


def _settings_values(row: ChaosSettings) -> dict[str, Any]:
    return {name: getattr(row, name) for name in SETTINGS_FIELDS}


def _settings_errors(values: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not isinstance(values["enabled"], bool):
        errors["enabled"] = ["Say true (opted in) or false (opted out)."]
    _in_range(errors, values, "slo_seconds", 1, 3600, "Use a recovery SLO from 1 to 3600 seconds.")
    _in_range(errors, values, "badge_runs", 1, 50, "Use 1 to 50 runs for the chaos-ready badge.")
    target = _number(values["availability_target"])
    if target is None or not 0 <= target <= 100:
        errors["availability_target"] = ["Use an availability target from 0 to 100 %."]
    else:
        values["availability_target"] = target
    return errors


def chaos_settings_update(*, actor: Actor, user: Any, environment: Environment, approval_reason: str = "",
                          **changes: Any) -> ChaosSettings:
    """Change an environment's chaos settings (``enabled``, ``slo_seconds``, ``availability_target``,
    ``badge_runs``); the row is made on first use. Opting a production environment in needs a Platform
    admin and an ``approval_reason`` (recorded with who and when, audited ``chaos.production_approved``);
    opting it out clears the approval, so opting in again needs a new one. Every call is audited
    ``chaos.settings_changed`` with before and after. Raises PermissionDenied / ValidationError (nothing
    changed then)."""
    with audited(actor=actor, action="chaos.settings_changed", obj=environment,
                 details={"requested": changes}) as scope:
        scope.team_slug = environment.team.slug
        _may_change(user, environment, changes, SETTINGS_FIELDS, "the chaos settings")
        production = environment.stage in rules.PRODUCTION_STAGES
        with transaction.atomic():
            row, _ = ChaosSettings.objects.select_for_update().get_or_create(environment=environment)
            before = _settings_values(row)
            values = before | changes
            errors = _settings_errors(values)
            opting_in = values["enabled"] is True and not before["enabled"]
            reason = (approval_reason or "").strip()
            if production and opting_in:
                rules.require_platform_admin(user, "can approve chaos experiments on a production environment")
                if not reason:
                    errors["approval_reason"] = ["Opting a production environment in needs a Platform admin's "
                                                 "approval: give the reason (who agreed, why it is safe)."]
                elif len(reason) > 300:
                    errors["approval_reason"] = ["Keep the approval reason to 300 characters."]
            if errors:
                raise ValidationError(errors)
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_by_id = actor.user_id
            if production and opting_in:
                row.approved_by_id, row.approved_at, row.approval_reason = actor.user_id, timezone.now(), reason
            elif production and not values["enabled"]:
                row.approved_by_id, row.approved_at, row.approval_reason = None, None, ""
            row.save()
            if production and opting_in:
                audit_record(actor=actor, action="chaos.production_approved", obj=environment,
                             team_slug=environment.team.slug, details={"reason": reason})
        scope.details.update(before=before, after=_settings_values(row),
                             changes=changes_between(before, _settings_values(row)))
    return row


# ---------------------------------------------------------------------------------------------------
# Experiments: validation


def _time_of(value: Any) -> time | str | None:
    """A window time from a time, "HH:MM[:SS]" or empty; the string "bad" when it is none of those."""
    if value in (None, ""):
        return None
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        try:
            return time.fromisoformat(value.strip())
        except ValueError:
            return "bad"
    return "bad"


def _check_schedule(values: dict[str, Any], errors: dict[str, list[str]]) -> None:
    schedule = values["schedule"]
    if schedule not in dict(ChaosExperiment.SCHEDULES):
        errors["schedule"] = ["Choose once, interval or cron."]
        return
    interval, cron = values.get("interval_seconds"), (values.get("cron") or "").strip()
    values["cron"] = cron
    if schedule == ChaosExperiment.INTERVAL:
        minimum = settings.SLIPWAY_CHAOS_MIN_INTERVAL_SECONDS
        number = _whole(interval)
        if interval in (None, ""):
            errors["interval_seconds"] = ["An interval schedule needs the interval in seconds."]
        elif number is None or number < minimum:
            errors["interval_seconds"] = [f"Give an interval of at least {minimum} seconds."]
        else:
            values["interval_seconds"] = number
    elif interval not in (None, ""):
        errors["interval_seconds"] = ["Only an interval schedule has an interval; leave it empty."]
    else:
        values["interval_seconds"] = None
    if schedule == ChaosExperiment.CRON:
        if not cron:
            errors["cron"] = ["A cron schedule needs an expression, such as '0 10 * * 1-5'."]
        elif len(cron.split()) != 5:
            errors["cron"] = [f"Use five fields: minute, hour, day of month, month, day of week "
                              f"(this has {len(cron.split())})."]
        else:
            try:
                croniter(cron)
            except (CroniterError, ValueError) as exc:
                errors["cron"] = [f"This is not a valid cron expression: {exc}"]
    elif cron:
        errors["cron"] = ["Only a cron schedule has a cron expression; leave it empty."]


def _check_window(values: dict[str, Any], errors: dict[str, list[str]]) -> None:
    name = values.get("timezone") or ""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        errors["timezone"] = [f"'{name}' is not a known time zone; use a name such as Europe/Berlin or UTC."]
    days = values.get("window_days") or []
    numbers = [_whole(d) for d in days] if isinstance(days, list | tuple) else [None]
    if any(d is None or not 1 <= d <= 7 for d in numbers):
        errors["window_days"] = ["Use ISO weekdays from 1 (Monday) to 7 (Sunday)."]
    else:
        values["window_days"] = sorted(set(numbers))
    start, end = _time_of(values.get("window_start")), _time_of(values.get("window_end"))
    for field_name, value in (("window_start", start), ("window_end", end)):
        if value == "bad":
            errors[field_name] = ["Give a time of day as HH:MM."]
    if "window_start" in errors or "window_end" in errors:
        return
    if (start is None) != (end is None):
        errors["window_end" if end is None else "window_start"] = [
            "Give both a start and an end time, or neither (any time of day)."]
    elif start is not None and not start < end:
        errors["window_end"] = ["The window must end after it starts (a window does not cross midnight)."]
    values["window_start"], values["window_end"] = start, end


def _snapshot_names(environment: Environment) -> tuple[list[str], list[str]]:
    """(components, backing services in the cluster) of the environment's current revision."""
    revision = environment.current_revision
    snapshot = revision.snapshot if revision is not None else {}
    components = [c["name"] for c in snapshot.get("components", [])]
    in_cluster = environment.stage not in rules.PRODUCTION_STAGES
    backing = [b["name"] for b in snapshot.get("backing_services", [])
               if in_cluster and b.get("kind") in SCALABLE_BACKING]
    return components, backing


def _replicas(environment: Environment, component: str) -> int | None:
    revision = environment.current_revision
    for item in (revision.snapshot.get("components", []) if revision is not None else []):
        if item["name"] == component:
            return item.get("autoscaling_min") or item.get("replicas")
    return None


def _check_target(environment: Environment, values: dict[str, Any], errors: dict[str, list[str]]) -> None:
    fault, target = values["fault"], (values.get("target") or "").strip()
    values["target"] = target
    components, backing = _snapshot_names(environment)
    if fault == ChaosExperiment.BACKING_SCALE_ZERO:
        if environment.stage in rules.PRODUCTION_STAGES:
            errors["target"] = ["Production backing services are managed outside the cluster; Slipway does not "
                                "scale them."]
        elif not backing:
            errors["target"] = [f"{environment.name} has no MariaDB or Redis backing service in the cluster."]
        elif target and target not in backing:
            errors["target"] = [f"'{target}' is not a backing service of {environment.name} in the cluster "
                                f"(choose one of: {', '.join(backing)}; empty picks one at random)."]
    elif target and target not in components:
        errors["target"] = [f"'{target}' is not a component of {environment.name}'s current revision "
                            f"(choose one of: {', '.join(components) or 'none'}; empty picks one at random)."]


def _check_limits(environment: Environment, values: dict[str, Any], errors: dict[str, list[str]]) -> None:
    _in_range(errors, values, "percent", 1, 100, "Use a percentage of pods from 1 to 100.")
    _in_range(errors, values, "duration_seconds", 5, 3600, "Use a duration from 5 to 3600 seconds.")
    _in_range(errors, values, "max_down_percent", 1, 100, "Use a blast-radius limit from 1 to 100 %.")
    if errors.keys() & {"percent", "max_down_percent", "fault"}:
        return
    fault, limit = values["fault"], values["max_down_percent"]
    if fault in WHOLE_TARGET and limit < 100:
        errors["max_down_percent"] = [f"{WHOLE_TARGET[fault]} takes every pod of its target down at once: set "
                                      f"the blast-radius limit to 100 %."]
    elif fault == ChaosExperiment.POD_KILL_PERCENT and values["percent"] > limit:
        errors["percent"] = [f"Killing {values['percent']} % of the pods exceeds the blast-radius limit of "
                             f"{limit} %: lower the percentage or raise the limit."]
    elif fault in POD_FAULTS and values.get("target") and "target" not in errors:
        replicas = _replicas(environment, values["target"])
        if replicas is not None and replicas * limit // 100 < 1:
            errors["max_down_percent"] = [
                f"{values['target']} runs {replicas} replica{'s' if replicas != 1 else ''}: at {limit} % not "
                f"even one pod may go down; raise the limit (100 allows it) or choose another component."]


def _has_window(values: dict[str, Any]) -> bool:
    return bool(values.get("window_days")) or values.get("window_start") is not None


def _validated(environment: Environment, values: dict[str, Any], *, exclude_pk: int | None) -> dict[str, Any]:
    """``values`` normalised, or ValidationError with a sentence for every field that is wrong."""
    errors: dict[str, list[str]] = {}
    values = dict(values)
    name = values["name"] = str(values.get("name") or "").strip()
    try:
        DNS_LABEL(name)
    except ValidationError as exc:
        errors["name"] = exc.messages
    else:
        taken = ChaosExperiment.objects.filter(environment=environment, name=name).exclude(pk=exclude_pk)
        if taken.exists():
            errors["name"] = [f"{environment.name} already has an experiment named '{name}'."]
    if values["fault"] not in dict(ChaosExperiment.FAULTS):
        errors["fault"] = [f"Choose a fault: {', '.join(dict(ChaosExperiment.FAULTS))}."]
    else:
        _check_target(environment, values, errors)
    if not isinstance(values["paused"], bool):
        errors["paused"] = ["Say true or false."]
    _check_limits(environment, values, errors)
    _check_schedule(values, errors)
    _check_window(values, errors)
    if not errors and values["schedule"] == ChaosExperiment.CRON:
        probe = ChaosExperiment(**{**values, "paused": False})
        if next_run_after(probe, timezone.now()) is None:
            errors["cron"] = ["This cron expression never fires inside the allowed window within a year."
                              if _has_window(values) else "This cron expression does not fire within a year."]
    if errors:
        raise ValidationError(errors)
    return values


def _experiment_values(experiment: ChaosExperiment) -> dict[str, Any]:
    return {name: getattr(experiment, name) for name in EXPERIMENT_FIELDS}


def _defaults() -> dict[str, Any]:
    return {name: ChaosExperiment._meta.get_field(name).get_default() for name in EXPERIMENT_FIELDS}


def _name_taken(environment: Environment, name: str) -> ValidationError:
    return ValidationError({"name": [f"{environment.name} already has an experiment named '{name}'."]})


# ---------------------------------------------------------------------------------------------------
# Experiments: use cases


def chaos_experiment_create(*, actor: Actor, user: Any, environment: Environment,
                            **fields: Any) -> ChaosExperiment:
    """Create an experiment (fields as on ChaosExperiment; omitted ones take the model's defaults) with
    its first ``next_run_at``. Raises PermissionDenied / ValidationError (with a message per field)."""
    with audited(actor=actor, action="chaos.experiment_created", obj=environment,
                 details={"requested": fields}) as scope:
        scope.team_slug = environment.team.slug
        _may_change(user, environment, fields, EXPERIMENT_FIELDS, "an experiment")
        values = _validated(environment, _defaults() | fields, exclude_pk=None)
        experiment = ChaosExperiment(environment=environment, created_by_id=actor.user_id, **values)
        experiment.next_run_at = next_run_after(experiment, timezone.now())
        try:
            with transaction.atomic():
                experiment.save()
        except IntegrityError as exc:  # the same name created at the same instant
            raise _name_taken(environment, values["name"]) from exc
        scope.obj = experiment
        scope.details = {"environment": environment.name, "after": _experiment_values(experiment),
                         "next_run_at": experiment.next_run_at}
    return experiment


def _locked(experiment: ChaosExperiment) -> ChaosExperiment:
    return ChaosExperiment.objects.select_for_update(of=("self",)).select_related("environment__current_revision").get(
        pk=experiment.pk)


def chaos_experiment_update(*, actor: Actor, user: Any, experiment: ChaosExperiment,
                            **fields: Any) -> ChaosExperiment:
    """Change some of an experiment's fields, checked as on create; a change of schedule, window or
    pause recomputes ``next_run_at``. A run already started keeps the fault it started with."""
    environment = experiment.environment
    with audited(actor=actor, action="chaos.experiment_updated", obj=experiment,
                 details={"requested": fields}) as scope:
        scope.team_slug = environment.team.slug
        _may_change(user, environment, fields, EXPERIMENT_FIELDS, "an experiment")
        try:
            with transaction.atomic():
                locked = _locked(experiment)
                before = _experiment_values(locked)
                values = _validated(locked.environment, before | fields, exclude_pk=locked.pk)
                for name, value in values.items():
                    setattr(locked, name, value)
                timing = ("schedule", "interval_seconds", "cron", "window_days", "window_start", "window_end",
                          "timezone", "paused")
                if any(before[name] != values[name] for name in timing):
                    locked.next_run_at = next_run_after(locked, timezone.now())
                locked.save()
        except IntegrityError as exc:
            raise _name_taken(environment, fields.get("name", experiment.name)) from exc
        scope.details.update(changes=changes_between(before, _experiment_values(locked)),
                             next_run_at=locked.next_run_at)
    return locked


def chaos_experiment_pause(*, actor: Actor, user: Any, experiment: ChaosExperiment,
                           paused: bool) -> ChaosExperiment:
    """Pause (no scheduled run starts; ``next_run_at`` cleared) or resume (the next time is computed
    from now) an experiment. A run already going carries on: the kill switch stops those. Idempotent."""
    environment = experiment.environment
    action = "chaos.experiment_paused" if paused else "chaos.experiment_resumed"
    with audited(actor=actor, action=action, obj=experiment) as scope:
        scope.team_slug = environment.team.slug
        _require_change(user, environment)
        with transaction.atomic():
            locked = _locked(experiment)
            scope.details["was_paused"] = locked.paused
            locked.paused = bool(paused)
            locked.next_run_at = next_run_after(locked, timezone.now())
            locked.save(update_fields=["paused", "next_run_at", "updated_at"])
        scope.details["next_run_at"] = locked.next_run_at
    return locked


def chaos_experiment_delete(*, actor: Actor, user: Any, experiment: ChaosExperiment) -> None:
    """Delete an experiment and its run history. Refused while one of its runs is queued or running or
    a fault of it is still to be undone: the undo ledger must outlive the fault."""
    environment = experiment.environment
    with audited(actor=actor, action="chaos.experiment_deleted", obj=experiment,
                 details={"environment": environment.name, "name": experiment.name}) as scope:
        scope.team_slug = environment.team.slug
        _require_change(user, environment)
        with transaction.atomic():
            locked = _locked(experiment)
            active = locked.runs.filter(status__in=ChaosRun.ACTIVE).first()
            if active is not None:
                raise ValidationError(f"Run {active.pk} of {locked.name} is {active.status}; stop it (or wait "
                                      f"for it to end) before deleting the experiment.")
            if locked.runs.filter(undos__done_at__isnull=True).exists():
                raise ValidationError(f"A fault of {locked.name} is still to be undone; wait for the undo before "
                                      f"deleting the experiment.")
            scope.details["before"] = _experiment_values(locked)
            scope.details["runs"] = locked.runs.count()
            locked.delete()

