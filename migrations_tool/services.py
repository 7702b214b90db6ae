"""Data copy use cases: start a copy, undo the last one, register shared servers. Each validates,
persists, audits and enqueues its job."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from environments.models import Environment
from portal.accounts import authz, rules
from portal.audit.actor import Actor
from portal.audit.services import audited
from portal.jobs.services import job_create

from .contracts import CopyError
from .masking import missing_rules, parse_rules
from .models import KIND_NAMES, DataCopy, DataServer

_STORE_OPTIONS = {
    "mysql": {"include_tables", "exclude_tables", "filters"},
    "redis": None,  # free-form: the Redis copier's own options (patterns, mapping…)
    "s3": None,
}
ACTIVE = (DataCopy.QUEUED, DataCopy.RUNNING, DataCopy.UNDOING)


def masking_key() -> str:
    """The installation's masking key (``SLIPWAY_MASKING_KEY``, else derived from ``SECRET_KEY``)."""
    if settings.SLIPWAY_MASKING_KEY:
        return settings.SLIPWAY_MASKING_KEY
    return hmac.new(settings.SECRET_KEY.encode(), b"slipway-masking", hashlib.sha256).hexdigest()


def _validate_options(stores: list[str], options: dict[str, Any]) -> dict[str, Any]:
    errors = []
    if not isinstance(options, dict):
        raise ValidationError({"options": ["Options must be an object."]})
    for key, value in options.items():
        if key == "masking":
            try:
                parse_rules(value)
            except CopyError as exc:
                errors.append(str(exc))
            continue
        if key not in KIND_NAMES:
            errors.append(f"Unknown option group {key!r}: use one of {', '.join(KIND_NAMES)} or 'masking'.")
            continue
        if not isinstance(value, dict):
            errors.append(f"Options for {key} must be an object.")
            continue
        allowed = _STORE_OPTIONS[key]
        unknown = sorted(set(value) - allowed) if allowed is not None else []
        if unknown:
            errors.append(f"Unknown {key} option(s): {', '.join(unknown)}.")
        for name in ("include_tables", "exclude_tables"):
            if name in value and not (isinstance(value[name], list) and all(isinstance(t, str) for t in value[name])):
                errors.append(f"{key}.{name} must be a list of table names.")
        if "filters" in value and not (isinstance(value["filters"], dict)
                                       and all(isinstance(v, str) for v in value["filters"].values())):
            errors.append(f"{key}.filters must map table names to WHERE expressions.")
    if errors:
        raise ValidationError({"options": errors})
    return options


def _stores_of(environment: Environment, kinds: list[str]) -> dict[str, Any]:
    found = {s.kind: s for s in environment.data_stores.filter(kind__in=kinds, state="ready")}
    return found


def data_copy_start(*, actor: Actor, user: Any, source: Environment, target: Environment, stores: list[str],
                    options: dict[str, Any] | None = None, confirm: str = "", override_reason: str = "") -> DataCopy:
    """Record a copy of ``stores`` from ``source`` into ``target`` and enqueue it.

    Raises PermissionDenied (roles, production guards) or ValidationError (bad input; nothing is created).
    """
    from .tasks import data_copy as data_copy_task

    options = dict(options or {})
    stores = list(dict.fromkeys(stores or []))
    details = {"source": source.name, "target": target.name, "stores": stores, "options": options}
    with audited(actor=actor, action="data_copy.start", obj=target, details=details) as scope:
        scope.team_slug = target.team.slug
        if not authz.environment_can(user, authz.VIEW, source):
            raise PermissionDenied("You cannot see the environment you want to copy from.")
        if not authz.data_copy_can(user, authz.CREATE, target):
            raise PermissionDenied("You can copy data only into your own teams' non-production environments; "
                                   "copying into production needs a Platform admin.")
        if source.pk == target.pk:
            raise ValidationError({"source": ["Source and target are the same environment."]})
        for role, environment in (("source", source), ("target", target)):
            if environment.status in (Environment.DESTROYING, Environment.DESTROYED):
                raise ValidationError({role: [f"{environment.name} is being destroyed."]})
        if not stores or set(stores) - set(KIND_NAMES):
            raise ValidationError({"stores": [f"Choose one or more of {', '.join(KIND_NAMES)}."]})
        missing = [f"{environment.name} has no {kind} store" for kind in stores
                   for environment in (source, target) if kind not in _stores_of(environment, stores)]
        if missing:
            raise ValidationError({"stores": missing})
        _validate_options(stores, options)
        if target.stage in rules.PRODUCTION_STAGES and confirm != target.name:
            raise ValidationError({"confirm": [f"Copying into production overwrites its data: type the target's "
                                               f"name ({target.name}) to confirm."]})
        if source.stage in rules.PRODUCTION_STAGES and "mysql" in stores:
            unmasked = missing_rules(list(source.blueprint.personal_data or []), parse_rules(options.get("masking")))
            if unmasked and not override_reason.strip():
                raise ValidationError({"masking": [f"Copying from production requires a masking rule for every "
                                                   f"personal-data column; missing: {', '.join(unmasked)}."]})
            if unmasked and not rules.is_platform_admin(user):
                raise PermissionDenied("Only a Platform admin can copy unmasked personal data out of production.")
            scope.details["override"] = {"reason": override_reason.strip(), "unmasked": unmasked} if unmasked else None
        elif override_reason:
            override_reason = ""
        if DataCopy.objects.filter(target=target, state__in=ACTIVE).exists():
            raise ValidationError({"target": [f"A copy into {target.name} is already running."]})
        with transaction.atomic():
            job = job_create(actor=actor, kind="data_copy", task=data_copy_task, target=target, team=target.team,
                             title=f"Copy {', '.join(stores)} from {source.name} to {target.name}")
            copy = DataCopy.objects.create(source=source, target=target, team=target.team, stores=stores,
                                           options=options, job=job, started_by_id=actor.user_id,
                                           policy_override=override_reason.strip())
        scope.obj = copy
        scope.details["copy"] = copy.pk
    return copy


def last_undoable(target: Environment) -> DataCopy | None:
    """The newest finished copy into ``target`` whose snapshots are still inside the undo window."""
    latest = DataCopy.objects.filter(target=target).exclude(state=DataCopy.QUEUED).first()
    if latest is None or latest.state not in (DataCopy.VERIFIED, DataCopy.FAILED) or not latest.snapshots:
        return None
    if latest.undo_until is None or latest.undo_until < timezone.now():
        return None
    return latest


def data_copy_undo(*, actor: Actor, user: Any, copy: DataCopy) -> DataCopy:
    """Restore the target from the snapshot taken before ``copy`` (the last copy into it, inside the window)."""
    from .tasks import data_copy_undo as undo_task

    with audited(actor=actor, action="data_copy.undo", obj=copy,
                 details={"target": copy.target.name, "stores": sorted(copy.snapshots)}) as scope:
        scope.team_slug = copy.target.team.slug
        if not authz.data_copy_can(user, authz.CHANGE, copy):
            raise PermissionDenied("You can undo copies only into your own teams' non-production environments.")
        if DataCopy.objects.filter(target=copy.target, state__in=ACTIVE).exclude(pk=copy.pk).exists():
            raise ValidationError(f"Another copy into {copy.target.name} is queued or running; undo after it.")
        if last_undoable(copy.target) != copy:
            raise ValidationError("Only the last copy into an environment can be undone, within "
                                  f"{settings.SLIPWAY_DATA_COPY_UNDO_HOURS:g} hours, and only once.")
        with transaction.atomic():
            locked = DataCopy.objects.select_for_update().get(pk=copy.pk)
            if locked.state not in (DataCopy.VERIFIED, DataCopy.FAILED):
                raise ValidationError("This copy is already being undone.")
            job = job_create(actor=actor, kind="data_copy_undo", task=undo_task, target=copy.target,
                             team=copy.target.team, title=f"Undo copy into {copy.target.name}")
            DataCopy.objects.filter(pk=copy.pk).update(state=DataCopy.UNDOING, undo_job=job)
        copy.refresh_from_db()
    return copy


def undo_deadline():
    return timezone.now() + timedelta(hours=settings.SLIPWAY_DATA_COPY_UNDO_HOURS)


def data_server_set(*, actor: Actor, user: Any | None, cluster: Any, kind: str, host: str = "", port: int = 0,
                    user_name: str = "", password: str = "", endpoint_url: str = "", region: str = "",
                    mode: str = "", database: str = "") -> DataServer:
    """Create or update the cluster's shared server of ``kind`` (Platform admins; ``user=None`` = system)."""
    with audited(actor=actor, action="data_server.set",
                 details={"cluster": cluster.name, "kind": kind, "host": host, "port": port,
                          "endpoint_url": endpoint_url}) as scope:
        if user is not None and not authz.data_server_can(user, authz.CHANGE):
            raise PermissionDenied("Only Platform admins configure shared data servers.")
        if kind not in KIND_NAMES:
            raise ValidationError({"kind": [f"Choose one of {', '.join(KIND_NAMES)}."]})
        server, _ = DataServer.objects.update_or_create(
            cluster=cluster, kind=kind,
            defaults={"host": host, "port": port, "user": user_name, "password": password,
                      "endpoint_url": endpoint_url, "region": region, "mode": mode, "database": database})
        scope.obj = server
    return server
