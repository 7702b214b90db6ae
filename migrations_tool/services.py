"""Data copy use cases: start a copy, undo the last one, register shared servers. Each validates,
persists, audits and enqueues its job."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from environments.models import Environment
from portal.accounts import authz, rules
from portal.audit.actor import Actor
from portal.audit.services import audited
from portal.concurrency import refused_when_taken
from portal.jobs.services import job_create
from portal.quoting import quoted

from .contracts import CopyError
from .lifecycle import DATA_COPY_STATE, data_copy_transition
from .mariadb_schema import table_columns
from .masking import parse_rules
from .models import KIND_NAMES, DataCopy, DataServer
from .policy import copy_policy_decide, direction_of
from .row_filter import RowFilterError, parse_row_filter, row_filter_errors
from .tasks import data_copy as data_copy_task
from .tasks import data_copy_undo as undo_task

_STORE_OPTIONS = {
    "mysql": {"include_tables", "exclude_tables", "filters"},
    "redis": None,  # free-form: the Redis copier's own options (patterns, mapping…)
    "s3": None,
}
ACTIVE = DataCopy.ACTIVE


def validate_options(stores: list[str], options: dict[str, Any]) -> dict[str, Any]:
    """Check a copy's options (per-store groups and masking rules); return them. Raises ValidationError."""
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
            errors.append(f"Unknown option group {quoted(key)}: use one of {', '.join(KIND_NAMES)} or 'masking'.")
            continue
        if not isinstance(value, dict):
            errors.append(f"Options for {key} must be an object.")
            continue
        allowed = _STORE_OPTIONS[key]
        unknown = sorted(set(value) - allowed) if allowed is not None else []
        if unknown:
            errors.append(f"Unknown {key} option(s): {', '.join(unknown)}.")
        for name, what in (("include_tables", "table names"), ("exclude_tables", "table names"),
                           ("include", "key patterns"), ("exclude", "key patterns"), ("exclude_prefixes", "prefixes")):
            if name in value and not (isinstance(value[name], list) and all(isinstance(t, str) for t in value[name])):
                errors.append(f"{key}.{name} must be a list of {what}.")
        if "filters" in value:
            # Parsed here for a 400 with the reason; the worker parses them again against the real columns.
            errors += row_filter_errors(value["filters"])
    if errors:
        raise ValidationError({"options": errors})
    return options


def _check_filter_columns(source: Environment, filters: dict[str, str]) -> None:
    """Row filters against the source's real tables and columns, when its server answers quickly;
    otherwise the worker refuses them (before reading a row) with the same reasons."""
    store = _stores_of(source, ["mysql"])["mysql"]
    columns = table_columns(store.store_endpoint(), filters)
    if columns is None:
        return
    errors = []
    for table, expression in filters.items():
        if table not in columns:
            errors.append(f"Row filter for {table[:64]!r}: {source.name} has no table of that name.")
            continue
        try:
            parse_row_filter(expression, table=table, columns=columns[table])
        except RowFilterError as exc:
            errors.append(str(exc))
    if errors:
        raise ValidationError({"options": errors})


def _refusal_if_active(target: Environment, message: Any) -> ValidationError | None:
    """``ValidationError(message)`` when a copy or undo is writing into ``target`` (one at a time)."""
    return ValidationError(message) if DataCopy.objects.filter(target=target, state__in=ACTIVE).exists() else None


def _stores_of(environment: Environment, kinds: list[str]) -> dict[str, Any]:
    found = {s.kind: s for s in environment.data_stores.filter(kind__in=kinds, state="ready")}
    return found


def data_copy_start(*, actor: Actor, user: Any, source: Environment, target: Environment, stores: list[str],
                    options: dict[str, Any] | None = None, confirm: str = "", override_reason: str = "") -> DataCopy:
    """Record a copy of ``stores`` from ``source`` into ``target`` and enqueue it.

    Raises PermissionDenied (roles, production guards) or ValidationError (bad input; nothing is created).
    """
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
        validate_options(stores, options)
        if "mysql" in stores and (options.get("mysql") or {}).get("filters"):
            _check_filter_columns(source, options["mysql"]["filters"])
        if target.stage in rules.PRODUCTION_STAGES and confirm != target.name:
            raise ValidationError({"confirm": [f"Copying into production overwrites its data: type the target's "
                                               f"name ({target.name}) to confirm."]})
        try:
            policy = copy_policy_decide(user=user, source=source, target=target, stores=stores, options=options,
                                        override_reason=override_reason)
        except (ValidationError, PermissionDenied):
            scope.details["policy"] = {"direction": direction_of(source, target), "refused": True}
            raise
        options, override_reason = policy.options, policy.reason
        scope.details.update(options=options, policy=policy.audit())
        scope.details["override"] = ({"reason": policy.reason, "stores": policy.overridden,
                                      "unmasked": policy.stores.get("mysql", {}).get("unmasked", [])}
                                     if policy.overridden else None)

        def busy() -> ValidationError | None:
            return _refusal_if_active(target, {"target": [f"A copy into {target.name} is already running."]})

        if refusal := busy():
            raise refusal
        def copy_failed(reason: str) -> None:
            # Runs after the commit, when the copy row (made just below: it references its job) exists.
            DATA_COPY_STATE.unqueued(copy, waiting=DataCopy.QUEUED, to=DataCopy.FAILED, actor=actor,
                                     stamp="finished_at")(reason)

        with refused_when_taken(busy):  # DataCopy's one_active_copy_per_target decides a race
            job = job_create(actor=actor, kind="data_copy", task=data_copy_task, target=target, team=target.team,
                             title=f"Copy {', '.join(stores)} from {source.name} to {target.name}",
                             on_unqueued=copy_failed)
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
        # A copy into the target started between the check above and this update: the constraint refuses.
        with refused_when_taken(lambda: _refusal_if_active(copy.target, f"Another copy into {copy.target.name} "
                                                                        "is queued or running; undo after it.")):
            locked = DataCopy.objects.select_for_update().get(pk=copy.pk)
            if locked.state not in (DataCopy.VERIFIED, DataCopy.FAILED):
                raise ValidationError("This copy is already being undone.")
            # An undo that could not be queued never touched the target: the copy is back where it was (its
            # own error kept; the failed undo job says why).
            job = job_create(actor=actor, kind="data_copy_undo", task=undo_task, target=copy.target,
                             team=copy.target.team, title=f"Undo copy into {copy.target.name}",
                             on_unqueued=DATA_COPY_STATE.unqueued(locked, waiting=DataCopy.UNDOING, to=locked.state,
                                                                  actor=actor, explain=False))
            data_copy_transition(locked, DataCopy.UNDOING, actor=actor, undo_job=job)
        copy.refresh_from_db()
    return copy


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
