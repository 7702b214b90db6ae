"""Each environment's data stores: made with the environment (its first rollout), retired when it is
destroyed, removed once the undo window has passed.

Non-production environments get a store on the cluster's shared server of that kind when there is
one (a database + user, a Redis db or key prefix, a bucket), else the blueprint's in-cluster
StatefulSet is recorded. Production stores are managed services, registered by a Platform admin.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from django.db import IntegrityError
from django.utils import timezone

from environments.models import Environment
from portal.accounts.rules import PRODUCTION_STAGES
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.audit.services import audit_record

from .contracts import CopyError, StoreOwner
from .copiers import available_kinds, copier_for
from .models import DataServer, DataStore
from .undo_window import undo_deadline

logger = logging.getLogger(__name__)

# blueprint backing-service kind -> data store kind
STORE_KINDS = {"mariadb": "mysql", "mysql": "mysql", "redis": "redis", "s3": "s3"}
# the ports of the StatefulSets environments/render/backing.py renders for non-production environments
IN_CLUSTER_PORTS = {"mariadb": 3306, "redis": 6379}


def store_owner(environment: Environment) -> StoreOwner:
    """Whom an environment's stores on shared servers belong to: names are derived from it (unique per
    environment however long its name, see ``portal.derived_names``) and servers keep its marker."""
    return StoreOwner(readable=environment.name, marker=environment.ownership_marker)


def data_stores_provision(environment: Environment, log: Callable[[str], None] = logger.info) -> list[DataStore]:
    """Make sure every backing service of the environment has its DataStore. Idempotent; raises CopyError."""
    made = []
    passwords = json.loads(environment.backing_passwords or "{}")
    production = environment.stage in PRODUCTION_STAGES
    for backing in environment.blueprint.backing_services or []:
        kind = STORE_KINDS.get(backing.get("kind", ""))
        if kind is None or production or environment.data_stores.filter(kind=kind).exists():
            continue
        server = DataServer.objects.filter(cluster=environment.cluster, kind=kind).first()
        if server is not None and kind not in available_kinds():
            log(f"the {kind} copier is not installed: {backing['name']} gets no store on the shared server")
            server = None
        if server is not None:
            owner = store_owner(environment)
            endpoint = copier_for(kind).provision(server.server_endpoint(), owner)
            fields = {"owner_marker": owner.marker, "placement": DataStore.SHARED, "server": server,
                      "host": endpoint.host, "port": endpoint.port,
                      "user": endpoint.user, "password": str(endpoint.password or ""), "database": endpoint.database,
                      "prefix": endpoint.prefix, "endpoint_url": endpoint.endpoint_url, "region": endpoint.region}
        elif backing["kind"] in IN_CLUSTER_PORTS:
            fields = {"placement": DataStore.IN_CLUSTER, "port": IN_CLUSTER_PORTS[backing["kind"]],
                      "host": f"{backing['name']}.{environment.namespace}.svc.cluster.local",
                      "user": "root" if kind == "mysql" else "", "password": passwords.get(backing["name"], ""),
                      "database": "app" if kind == "mysql" else "0"}
        else:
            log(f"no shared {kind} server on {environment.cluster.name}: {backing['name']} has no data store")
            continue
        try:
            store = DataStore.objects.create(environment=environment, kind=kind, name=backing["name"], **fields)
        except IntegrityError:  # a concurrent re-run recorded it first
            continue
        log(f"data store {kind} for {backing['name']}: {store.get_placement_display()} {store.database}")
        audit_record(actor=Actor.system("provisioning"), action="data_store.provisioned", obj=store,
                     team_slug=environment.team.slug,
                     details={"environment": environment.name, "kind": kind, "placement": store.placement})
        made.append(store)
    return made


def data_stores_retire(environment: Environment) -> int:
    """On destroy: keep the stores through the undo window, then ``data_stores_deprovision_due`` removes them."""
    return environment.data_stores.filter(state=DataStore.READY).update(state=DataStore.RETIRING,
                                                                        remove_after=undo_deadline())


def data_store_deprovision(store: DataStore) -> None:
    """Remove one store's database/keys/bucket (in-cluster ones went with the namespace). Idempotent."""
    if store.placement == DataStore.SHARED and store.server is not None:
        if not store.owner_marker:
            _refuse_shared_legacy_store(store)
        copier_for(store.kind).deprovision(store.store_endpoint(), store.server.server_endpoint(),
                                           store.owner_marker or None)
    DataStore.objects.filter(pk=store.pk).update(state=DataStore.REMOVED)
    audit_record(actor=Actor.system("provisioning"), action="data_store.removed", obj=store,
                 team_slug=store.environment.team.slug,
                 details={"environment": store.environment.name, "kind": store.kind, "database": store.database})


def _refuse_shared_legacy_store(store: DataStore) -> None:
    """A store made before ownership markers was named by cutting the environment's name, so two
    environments may hold the same database/prefix/bucket: remove it only when no other store uses it."""
    others = (DataStore.objects.filter(server=store.server, kind=store.kind, database=store.database,
                                       prefix=store.prefix).exclude(pk=store.pk).exclude(state=DataStore.REMOVED)
              .select_related("environment"))
    if other := others.first():
        raise CopyError(f"{store.kind} store {store.database}{store.prefix} on {store.server} is also the store "
                        f"of environment {other.environment.name} (made before ownership markers); it is not "
                        "removed. A Platform admin must separate them by hand.")


def data_stores_deprovision_due(*, now=None) -> int:
    """The reaper (beat): remove retiring stores past their window. One failure does not stop the others."""
    now = now or timezone.now()
    removed = 0
    for store in DataStore.objects.filter(state=DataStore.RETIRING, remove_after__lte=now).select_related(
            "server", "environment__team"):
        try:
            data_store_deprovision(store)
        except CopyError as exc:
            logger.exception("cannot remove data store %s yet", store.pk)
            _record_refusal_once(store, str(exc))
            continue
        removed += 1
    return removed


def _record_refusal_once(store: DataStore, reason: str) -> None:
    """Why a store stays (e.g. it is not marked as its environment's): in the audit trail once, for the
    Platform admin to act on, not at every round of the reaper."""
    if AuditEvent.objects.filter(action="data_store.removal_failed", object_type="migrations_tool.datastore",
                                 object_id=str(store.pk)).exists():
        return
    audit_record(actor=Actor.system("provisioning"), action="data_store.removal_failed", obj=store,
                 team_slug=store.environment.team.slug, outcome=AuditEvent.FAILURE, error=reason,
                 details={"environment": store.environment.name, "kind": store.kind, "database": store.database})
