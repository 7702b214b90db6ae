"""Noticing a Terraform state that went backwards, and the Platform admin's ways out.

After every apply or destroy Slipway records the state's lineage and serial on the cluster. Before
planning it reads them again and refuses — saying why — when the state is missing, of another
lineage, or older than recorded: a plan against a lost state would create what still exists, and a
destroy would plan nothing and leave it running (as HCP Terraform keeps state versions for). The
ways out are restoring an earlier S3 version of the state (the bucket is versioned) or, with a
written reason, accepting the state as it is now. Both are audited.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError

from portal.accounts import authz
from portal.audit.actor import Actor
from portal.audit.services import audited

from . import blueprints
from .models import Cluster, TerraformRun
from .terraform import Backend, StateLocked, StateVersion, TerraformError


class StateWentBackwards(TerraformError):
    """The state in the backend is missing, of another lineage or older than the last one recorded."""


def _where(backend: Backend) -> str:
    return f"s3://{backend.bucket}/{backend.key}"


def state_problem(cluster: Cluster, current: StateVersion | None, backend: Backend) -> str:
    """Why ``current`` cannot be trusted against what Slipway recorded; "" when it can."""
    if not cluster.state_lineage:
        return ""  # nothing recorded yet: the first run, or a cluster from before the guard
    recorded = f"lineage {cluster.state_lineage}, serial {cluster.state_serial}"
    if current is None:
        return (f"The Terraform state {_where(backend)} is missing, but Slipway recorded {recorded} after the last "
                f"run. A plan against no state would create again what may still exist, and a destroy would remove "
                f"nothing. Restore the state (an earlier version of it, or from a backup), or accept the loss.")
    if current.lineage != cluster.state_lineage:
        return (f"The Terraform state {_where(backend)} has lineage {current.lineage}, not the {recorded} Slipway "
                f"recorded: another state was put in its place. Restore this cluster's state, or accept it.")
    if current.serial < (cluster.state_serial or 0):
        return (f"The Terraform state {_where(backend)} is at serial {current.serial}, older than the {recorded} "
                f"Slipway recorded after the last run: newer changes were lost. Restore the newer state, or accept it.")
    return ""


def state_check(cluster: Cluster, backend: Backend) -> None:
    """Raise StateWentBackwards when the backend's state is not (a successor of) the one recorded."""
    problem = state_problem(cluster, backend.state_version(), backend)
    if problem:
        raise StateWentBackwards(problem)


def state_record(cluster: Cluster, backend: Backend) -> StateVersion | None:
    """Remember the backend's lineage and serial after a run wrote the state (idempotent)."""
    current = backend.state_version()
    if current is not None and current.serial >= 0:
        Cluster.objects.filter(pk=cluster.pk).update(state_lineage=current.lineage, state_serial=current.serial)
        cluster.state_lineage, cluster.state_serial = current.lineage, current.serial
    return current


def state_versions(cluster: Cluster) -> list[dict[str, Any]]:
    """The state's S3 versions, newest first, each with its lineage/serial and whether it is the recorded one."""
    backend = blueprints.backend(cluster)
    versions = []
    for entry in backend.state_history()[:20]:
        version = None if entry["deleted"] else backend.state_version(entry["version_id"])
        versions.append({**entry, "lineage": version.lineage if version else "", "serial": version.serial if version
                         else None, "recorded": bool(version) and version.lineage == cluster.state_lineage
                         and version.serial == cluster.state_serial})
    return versions


def _require_idle_admin(user: Any, cluster: Cluster, what: str) -> None:
    if not authz.cluster_can(user, authz.CHANGE, cluster):
        raise PermissionDenied(f"Only Platform admins can {what}.")
    working = cluster.terraform_runs.filter(state__in=TerraformRun.WORKING).first()
    if working is not None:
        raise ValidationError(f"Run #{working.pk} is still {working.get_state_display().lower()}; wait for it first.")


@contextmanager
def _holding_state(backend: Backend, user: Any, cluster: Cluster, operation: str) -> Iterator[None]:
    """Terraform's own state lock for the block: a run that starts meanwhile waits or fails on the lock,
    and a change while a run (or another admin's restore) holds it is refused — one at a time."""
    try:
        with backend.holding_lock(operation=operation, who=user.get_username()):
            yield
    except StateLocked as exc:
        raise ValidationError(f"{cluster.name}: {exc} Wait for it to finish, or force-unlock a stale lock from the "
                              "cluster page.") from exc


def cluster_state_restore(*, actor: Actor, user: Any, cluster: Cluster, version_id: str) -> StateVersion:
    """Make an earlier S3 version of the cluster's state current again (audited). Raises ValidationError."""
    with audited(actor=actor, action="cluster.terraform_state_restore", obj=cluster,
                 details={"version_id": version_id}) as scope:
        _require_idle_admin(user, cluster, "restore Terraform state")
        backend = blueprints.backend(cluster)
        known = {e["version_id"]: e for e in backend.state_history()}
        if version_id not in known or known[version_id]["deleted"]:
            raise ValidationError({"version_id": [f"{_where(backend)} has no version {version_id!r}; "
                                                  f"choose one of the versions listed on the cluster page."]})
        with _holding_state(backend, user, cluster, "slipway state restore"):
            backend.restore_state(version_id)
            restored = backend.state_version()
        problem = state_problem(cluster, restored, backend)
        scope.details.update(lineage=restored.lineage if restored else "", serial=restored.serial if restored else None,
                             still_refused=problem)
    return restored


def cluster_state_accept(*, actor: Actor, user: Any, cluster: Cluster, reason: str) -> StateVersion | None:
    """Take the state as it is now as the truth from here on (audited, with the admin's reason)."""
    with audited(actor=actor, action="cluster.terraform_state_accept", obj=cluster,
                 details={"reason": reason, "recorded": {"lineage": cluster.state_lineage,
                                                         "serial": cluster.state_serial}}) as scope:
        _require_idle_admin(user, cluster, "accept a Terraform state")
        if len((reason or "").strip()) < 10:
            raise ValidationError({"reason": ["Say in a sentence why this state is right (at least 10 characters)."]})
        backend = blueprints.backend(cluster)
        with _holding_state(backend, user, cluster, "slipway state accept"):  # not a state a run is writing
            current = backend.state_version()
            Cluster.objects.filter(pk=cluster.pk).update(state_lineage=current.lineage if current else "",
                                                         state_serial=current.serial if current else None)
        cluster.state_lineage = current.lineage if current else ""
        cluster.state_serial = current.serial if current else None
        scope.details["accepted"] = {"lineage": cluster.state_lineage, "serial": cluster.state_serial}
    return current


def cluster_state_report(cluster: Cluster, *, with_versions: bool = False) -> dict[str, Any]:
    """What the cluster page and the API show: recorded and current identity, the problem, versions."""
    report: dict[str, Any] = {"recorded": {"lineage": cluster.state_lineage, "serial": cluster.state_serial},
                              "current": None, "problem": "", "error": "", "versions": []}
    if not cluster.managed_by_terraform:
        return report
    try:
        backend = blueprints.backend(cluster)
        current = backend.state_version()
        report["current"] = {"lineage": current.lineage, "serial": current.serial} if current else None
        report["problem"] = state_problem(cluster, current, backend)
        if with_versions or report["problem"]:
            report["versions"] = state_versions(cluster)
    except Exception as exc:  # the page still renders; the state store is named as unreachable
        report["error"] = f"The state store cannot be read: {type(exc).__name__}: {exc}"
    return report
