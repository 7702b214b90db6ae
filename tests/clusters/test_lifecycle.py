"""A cluster's status moves only through clusters/lifecycle.py (issue 15): the table, the health check
and the Terraform jobs, each change audited once and written to the job's log."""

import uuid

import pytest

from clusters.health import cluster_check_health
from clusters.lifecycle import CLUSTER_STATUS, cluster_transition
from clusters.models import Cluster, TerraformRun
from clusters.services import cluster_register
from clusters.terraform_runs import cluster_create, terraform_run_start
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.status_machine import IllegalTransition
from tests.status_changes import status_changes

from .test_services import KUBECONFIG

STATUSES = [value for value, _ in Cluster.STATUSES]
ALLOWED = {(source, to) for to, sources in CLUSTER_STATUS.sources.items() for source in sources}


@pytest.mark.django_db
@pytest.mark.parametrize(("source", "to"), [(s, t) for s in STATUSES for t in STATUSES])
def test_the_table_allows_what_it_lists_and_refuses_the_rest_changing_nothing(source, to):
    cluster = Cluster.objects.create(name="c1", kind="existing", status=source, status_message="before")
    if (source, to) in ALLOWED:
        assert cluster_transition(cluster, to, actor=Actor.system("test"), message="why") == source
        cluster.refresh_from_db()
        assert (cluster.status, cluster.status_message) == (to, "why")
        assert status_changes(cluster, "cluster.status_changed") == ([] if source == to else [(source, to)])
    else:
        with pytest.raises(IllegalTransition, match=f"is {source}; it cannot become {to}"):
            cluster_transition(cluster, to, actor=Actor.system("test"), message="why")
        cluster.refresh_from_db()
        assert (cluster.status, cluster.status_message) == (source, "before")
        assert status_changes(cluster, "cluster.status_changed") == []


def test_what_the_table_refuses():
    refused = {(s, t) for s in STATUSES for t in STATUSES} - ALLOWED
    assert {t for _, t in refused} == {Cluster.UNKNOWN, Cluster.PENDING, Cluster.DESTROYED, Cluster.DESTROYING}
    assert (Cluster.DESTROYED, Cluster.DESTROYING) in refused and (Cluster.PROVISIONING, Cluster.DESTROYED) in refused


@pytest.mark.django_db
def test_the_health_check_records_a_change_once(users):
    actor = Actor.system("test")
    cluster = cluster_register(actor=actor, name="gone", kind="existing", kubeconfig=KUBECONFIG)
    assert cluster.status == Cluster.UNKNOWN
    cluster_check_health(actor=actor, cluster=cluster)
    cluster_check_health(actor=actor, cluster=Cluster.objects.get(pk=cluster.pk))
    assert status_changes(cluster, "cluster.status_changed") == [("unknown", "unreachable")]
    event = AuditEvent.objects.get(action="cluster.status_changed")
    assert "very-secret-token-value" not in str(event.details) and event.details["message"]
    assert AuditEvent.objects.filter(action="cluster.health_check").count() == 2


@pytest.mark.integration
def test_terraform_create_and_destroy_move_the_status_audited_and_logged(users, local_clusters, terraform_settings,
                                                                         django_capture_on_commit_callbacks):
    admin = users["admin"]
    name = f"lc-{uuid.uuid4().hex[:6]}"
    with django_capture_on_commit_callbacks(execute=True):
        run = cluster_create(actor=Actor.for_user(admin), user=admin, name=name, kind="local")
    run.refresh_from_db()
    assert run.state == TerraformRun.SUCCEEDED, (run.message, run.log)
    cluster = Cluster.objects.get(name=name)
    with django_capture_on_commit_callbacks(execute=True):
        destroy = terraform_run_start(actor=Actor.for_user(admin), user=admin, cluster=cluster, action="destroy",
                                      confirm_name=name)
    destroy.refresh_from_db()
    assert destroy.state == TerraformRun.SUCCEEDED, destroy.log
    assert status_changes(cluster, "cluster.status_changed") == [("pending", "provisioning"), ("provisioning", "ready"), ("ready", "destroying"),
                                ("destroying", "destroyed")]
    apply_log = "\n".join(run.plan_job.events.filter(kind="log").values_list("text", flat=True))
    assert "status: pending → provisioning" in apply_log and "status: provisioning → ready" in apply_log
    destroy_log = "\n".join(destroy.plan_job.events.filter(kind="log").values_list("text", flat=True))
    assert "status: ready → destroying" in destroy_log and "status: destroying → destroyed" in destroy_log
