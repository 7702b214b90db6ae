"""A cluster's lifecycle: which status may follow which, and the one function that moves it.

Every write of ``Cluster.status`` goes through ``cluster_transition``: the Terraform jobs
(provisioning, destroying, destroyed, failed) and the health check (ready, unreachable). A cluster
starts ``pending`` (created by Terraform) or ``unknown`` (registered), set when its row is made.

The health check records what it sees whenever it runs (after an apply, periodically, on demand),
also while Terraform works on the cluster, so most statuses are reachable from anything today.
What the table refuses: ``destroyed`` other than at the end of a destroy, a destroy of a destroyed
cluster, and any move back to ``pending``/``unknown``.
"""

from __future__ import annotations

from portal.audit.actor import Actor
from portal.jobs.reporting import JobReporter
from portal.status_machine import StatusMachine

from .models import Cluster

ANY = frozenset(value for value, _ in Cluster.STATUSES)

CLUSTER_STATUS = StatusMachine(
    model=Cluster,
    action="cluster.status_changed",
    message_chars=500,
    sources={
        # The health check, from anything (see above).
        Cluster.READY: ANY,
        Cluster.UNREACHABLE: ANY,
        # An approved apply starts: a new cluster (pending), a change (ready, unreachable, failed), a
        # cluster created again (destroyed), a redelivered job (provisioning) — from anything.
        Cluster.PROVISIONING: ANY,
        # An approved destroy starts; the service refuses to destroy a destroyed cluster.
        Cluster.DESTROYING: ANY - {Cluster.DESTROYED},
        # A failed or interrupted apply/destroy, whatever a health check wrote meanwhile; from destroyed when
        # a destroy's worker died after recording it (the reaper marks the run interrupted).
        Cluster.FAILED: ANY,
        # The destroy applied; ready/unreachable when a health check ran while it did.
        Cluster.DESTROYED: frozenset({Cluster.DESTROYING, Cluster.READY, Cluster.UNREACHABLE}),
    },
)


def cluster_transition(cluster: Cluster, to: str, *, actor: Actor, message: str = "",
                       reporter: JobReporter | None = None, **fields: object) -> str | None:
    """Move ``cluster`` to status ``to`` (audited; logged to ``reporter`` inside a job), writing ``fields``
    in the same UPDATE. Returns the status it left (None when the row is gone). Raises
    portal.status_machine.IllegalTransition (a ValidationError), changing nothing, when the table
    does not allow the move."""
    return CLUSTER_STATUS.transition(cluster, to, actor=actor, message=message, reporter=reporter, fields=fields)
