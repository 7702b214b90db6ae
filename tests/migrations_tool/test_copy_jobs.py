"""Data copy jobs end to end on real MariaDB and S3 (moto): verified copies, undo, failures, policy."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from migrations_tool.mariadb_load import Spool
from migrations_tool.models import DataCopy, DataStore
from migrations_tool.services import data_copy_start, data_copy_undo
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.jobs.models import Job, JobEvent

from .conftest import fill, query

pytestmark = pytest.mark.integration

RULES = {"customers.email": "email", "customers.name": "name", "customers.phone": "phone",
         "orders.customer_email": "email"}


def state_of(endpoint):
    """Everything that identifies a database's content: objects, their definitions, table checksums."""
    tables = query(endpoint, "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s "
                             "ORDER BY TABLE_NAME", (endpoint.database,))
    result = {"objects": tables}
    for name, kind in tables:
        if kind == "BASE TABLE":
            result[name] = (query(endpoint, f"CHECKSUM TABLE `{name}` EXTENDED")[0][1],
                            query(endpoint, f"SHOW CREATE TABLE `{name}`")[0][1])
        else:
            result[name] = query(endpoint, f"SELECT * FROM `{name}`")
    return result


def start(world, user="qa", capture=None, **kwargs):
    actor = Actor.for_user(world["users"][user])
    with capture(execute=True):
        copy = data_copy_start(actor=actor, user=world["users"][user], source=kwargs.pop("source", world["source"]),
                               target=kwargs.pop("target", world["target"]), stores=kwargs.pop("stores", ["mysql"]),
                               **kwargs)
    copy.refresh_from_db()
    return copy


def prepare_target(endpoint):
    query(endpoint, "CREATE TABLE kept (id INT PRIMARY KEY, v VARCHAR(10))")
    query(endpoint, "INSERT INTO kept VALUES (1, 'before'), (2, NULL)")
    query(endpoint, "CREATE VIEW kept_view AS SELECT id FROM kept")
    query(endpoint, "CREATE TABLE customers (id INT PRIMARY KEY, email VARCHAR(5))")
    query(endpoint, "INSERT INTO customers VALUES (7, 'old')")


def test_copy_verified_streamed_audited_and_undo_restores_exactly(copy_world, django_capture_on_commit_callbacks):
    fill(copy_world["source_ep"])
    prepare_target(copy_world["target_ep"])
    before = state_of(copy_world["target_ep"])
    copy = start(copy_world, capture=django_capture_on_commit_callbacks, options={"masking": RULES})
    assert copy.state == DataCopy.VERIFIED, copy.error
    assert copy.job.state == Job.SUCCEEDED and copy.job.progress == 100
    assert copy.verification["mysql"]["verified"] is True
    assert copy.verification["mysql"]["details"]["orders"]["source_rows"] == 179
    assert copy.progress["mysql"]["rows_done"] == copy.verification["mysql"]["counters"]["rows"]
    assert copy.throughput["mysql"]["rows_per_second"] > 0
    assert copy.snapshots["mysql"]["bucket"] == copy_world["bucket"]
    assert JobEvent.objects.filter(job=copy.job, kind="progress").count() >= 2
    after = state_of(copy_world["target_ep"])
    assert "kept" not in after and "kept_view" not in after
    assert after["order_tags"] == state_of(copy_world["source_ep"])["order_tags"]
    assert query(copy_world["target_ep"], "SELECT COUNT(*) FROM customers WHERE email LIKE '%%@corp.example'") == ((0,),)
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"data_copy.start", "data_copy.verified", "job.succeeded"} <= actions

    with django_capture_on_commit_callbacks(execute=True):
        data_copy_undo(actor=Actor.for_user(copy_world["users"]["qa"]), user=copy_world["users"]["qa"], copy=copy)
    copy.refresh_from_db()
    assert copy.state == DataCopy.UNDONE and copy.undo_job.state == Job.SUCCEEDED, copy.undo_job.error
    assert state_of(copy_world["target_ep"]) == before
    with pytest.raises(ValidationError):  # only once
        data_copy_undo(actor=Actor.for_user(copy_world["users"]["qa"]), user=copy_world["users"]["qa"], copy=copy)


def test_copy_failing_midway_is_failed_and_target_restorable(copy_world, django_capture_on_commit_callbacks,
                                                              monkeypatch):
    fill(copy_world["source_ep"])
    prepare_target(copy_world["target_ep"])
    before = state_of(copy_world["target_ep"])
    real = Spool.write
    written = []

    def disk_full_after_two_batches(self, *args, **kwargs):
        if len(written) >= 2:
            raise OSError(28, "No space left on device")
        written.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Spool, "write", disk_full_after_two_batches)
    copy = start(copy_world, capture=django_capture_on_commit_callbacks)
    assert copy.state == DataCopy.FAILED and copy.job.state == Job.FAILED
    assert "No space left on device" in copy.error and "No space left on device" in copy.job.error
    assert copy.verification == {}
    assert state_of(copy_world["target_ep"]) != before  # really half-written
    assert AuditEvent.objects.filter(action="data_copy.failed", outcome="failure").exists()
    monkeypatch.setattr(Spool, "write", real)
    with django_capture_on_commit_callbacks(execute=True):
        data_copy_undo(actor=Actor.for_user(copy_world["users"]["qa"]), user=copy_world["users"]["qa"], copy=copy)
    assert state_of(copy_world["target_ep"]) == before


def test_rerun_after_kill_keeps_first_snapshot_and_converges(copy_world, django_capture_on_commit_callbacks):
    from migrations_tool.copy_jobs import run_data_copy
    from portal.jobs.runner import execute_job

    fill(copy_world["source_ep"])
    prepare_target(copy_world["target_ep"])
    copy = start(copy_world, capture=django_capture_on_commit_callbacks)
    first_snapshot = copy.snapshots["mysql"]
    # a worker killed mid-run leaves the job running; the redelivered task runs the body again
    Job.objects.filter(pk=copy.job.pk).update(state=Job.RUNNING, finished_at=None)
    DataCopy.objects.filter(pk=copy.pk).update(state=DataCopy.RUNNING)
    assert execute_job(str(copy.job.pk), Actor.system("test"), run_data_copy) == Job.SUCCEEDED
    copy.refresh_from_db()
    assert copy.state == DataCopy.VERIFIED and copy.snapshots["mysql"] == first_snapshot


def test_wrong_credentials_fail_with_clear_error_and_no_secret(copy_world, django_capture_on_commit_callbacks):
    fill(copy_world["source_ep"], customers=3)
    DataStore.objects.filter(environment=copy_world["source"]).update(password="Wr0ng-secret-99")
    store = DataStore.objects.get(environment=copy_world["source"])
    store.password = "Wr0ng-secret-99"
    store.save()
    copy = start(copy_world, capture=django_capture_on_commit_callbacks)
    assert copy.state == DataCopy.FAILED
    assert "Cannot connect to the source MariaDB" in copy.error and "Access denied" in copy.error
    texts = " ".join(JobEvent.objects.filter(job=copy.job).values_list("text", flat=True)) + copy.job.error
    assert "Wr0ng-secret-99" not in texts + copy.error
    # the target was snapshotted first, so it is restorable, but only inside the undo window
    assert copy.snapshots["mysql"]
    DataCopy.objects.filter(pk=copy.pk).update(undo_until=timezone.now() - timedelta(minutes=1))
    copy.refresh_from_db()
    with pytest.raises(ValidationError, match="within"):
        data_copy_undo(actor=Actor.for_user(copy_world["users"]["qa"]), user=copy_world["users"]["qa"], copy=copy)


def test_source_gone_fails_clearly(copy_world, django_capture_on_commit_callbacks):
    query(copy_world["source_ep"], f"DROP DATABASE `{copy_world['source_ep'].database}`")
    copy = start(copy_world, capture=django_capture_on_commit_callbacks)
    assert copy.state == DataCopy.FAILED and "Unknown database" in copy.error


def test_production_source_needs_masking_rules_or_admin_override(copy_world, django_capture_on_commit_callbacks):
    prod = copy_world["environment"]("prod-source", "prod", copy_world["source_ep"])
    fill(copy_world["source_ep"], customers=3)
    with pytest.raises(ValidationError) as err:
        start(copy_world, source=prod, capture=django_capture_on_commit_callbacks,
              options={"masking": {"customers.email": "email", "customers.name": "keep"}})
    assert "customers.name" in str(err.value) and "customers.phone" in str(err.value)
    with pytest.raises(PermissionDenied):
        start(copy_world, source=prod, capture=django_capture_on_commit_callbacks, override_reason="I need it")
    assert not DataCopy.objects.exists()
    refused = AuditEvent.objects.filter(action="data_copy.start", outcome="failure").count()
    assert refused == 2
    copy = start(copy_world, source=prod, capture=django_capture_on_commit_callbacks, options={"masking": RULES})
    assert copy.state == DataCopy.VERIFIED
    copy = start(copy_world, user="admin", source=prod, capture=django_capture_on_commit_callbacks,
                 override_reason="Incident 4711: reproduce with real addresses")
    assert copy.state == DataCopy.VERIFIED and copy.policy_override.startswith("Incident 4711")
    event = AuditEvent.objects.filter(action="data_copy.start", outcome="success").order_by("pk").last()
    assert event.details["override"]["reason"].startswith("Incident 4711")


def test_into_production_needs_admin_and_typed_confirmation(copy_world, django_capture_on_commit_callbacks):
    prod = copy_world["environment"]("prod-target", "prod", copy_world["target_ep"])
    with pytest.raises(PermissionDenied):
        start(copy_world, target=prod, capture=django_capture_on_commit_callbacks, confirm="prod-target")
    with pytest.raises(ValidationError, match="type the target"):
        start(copy_world, user="admin", target=prod, capture=django_capture_on_commit_callbacks, confirm="prod")
    fill(copy_world["source_ep"], customers=2)
    copy = start(copy_world, user="admin", target=prod, capture=django_capture_on_commit_callbacks,
                 confirm="prod-target")
    assert copy.state == DataCopy.VERIFIED


@pytest.mark.parametrize("user", ["manager", "outsider"])
def test_roles_without_change_rights_are_refused(copy_world, django_capture_on_commit_callbacks, user):
    with pytest.raises(PermissionDenied):
        start(copy_world, user=user, capture=django_capture_on_commit_callbacks)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"stores": []}, "stores"), ({"stores": ["redis"]}, "stores"),
    ({"options": {"mysql": {"include_tables": "x"}}}, "options"),
    ({"options": {"masking": {"customers.email": "scramble"}}}, "options"),
    ({"options": {"mysql": {"nope": 1}}}, "options"),
])
def test_bad_input_is_refused_and_nothing_created(copy_world, django_capture_on_commit_callbacks, kwargs, field):
    with pytest.raises(ValidationError) as err:
        start(copy_world, capture=django_capture_on_commit_callbacks, **kwargs)
    assert field in err.value.message_dict
    assert not DataCopy.objects.exists() and not Job.objects.exists()
