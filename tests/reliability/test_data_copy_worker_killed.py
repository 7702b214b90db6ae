"""A worker killed (SIGKILL) in the middle of a data copy: the target stays restorable from the snapshot
taken before the copy, the redelivered task converges to a verified copy, and undo restores the target."""

import os
import signal

import pytest
from celery import Celery
from django.db import connection

from migrations_tool.models import DataCopy, DataStore
from migrations_tool.services import data_copy_start, data_copy_undo
from portal.audit.actor import Actor
from portal.jobs.models import Job
from tests.migrations_tool.conftest import mariadb_pair, query  # noqa: F401 - fixture
from tests.reliability.test_rollout_worker_killed import start_worker, wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]


def test_killed_worker_mid_copy_leaves_restorable_target_and_redelivery_converges(
        redis_url, mariadb_pair, s3_bucket, aws_settings, tmp_path, users, team, monkeypatch):  # noqa: F811
    from django.core.management import call_command

    from clusters.models import Cluster
    from environments.models import Blueprint, Environment

    if connection.vendor != "postgresql":
        pytest.fail("needs the stack's PostgreSQL (the worker is another process)")
    source_ep, target_ep = mariadb_pair
    query(source_ep, "CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(200), KEY v_idx (v(20)))")
    query(source_ep, "INSERT INTO big SELECT seq, REPEAT(MD5(seq), 5) FROM seq_1_to_400000")
    query(target_ep, "CREATE TABLE precious (id INT PRIMARY KEY, v VARCHAR(10))")
    query(target_ep, "INSERT INTO precious VALUES (1, 'keep me')")
    call_command("seed_demo_blueprint", verbosity=0)
    cluster = Cluster.objects.create(name="killed-copies", kind="local", kubeconfig="{}")
    environments = []
    for name, endpoint in (("src-k", source_ep), ("dst-k", target_ep)):
        env = Environment.objects.create(name=name, cluster=cluster, namespace=f"slw-{name}", stage="qa", team=team,
                                         blueprint=Blueprint.objects.get(name="shop"), status="ready")
        DataStore.objects.create(environment=env, kind="mysql", name="db", host=endpoint.host, port=endpoint.port,
                                 user=endpoint.user, password=str(endpoint.password), database=endpoint.database)
        environments.append(env)
    for key, value in aws_settings.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SLIPWAY_SNAPSHOT_BUCKET", s3_bucket)
    monkeypatch.setenv("SLIPWAY_DATA_COPY_WORKERS", "1")
    url, queue = f"{redis_url}/3", f"copy-killed-{os.getpid()}"
    first = start_worker(url, queue, tmp_path)
    second = None
    try:
        qa = users["qa"]
        copy = data_copy_start(actor=Actor.for_user(qa), user=qa, source=environments[0], target=environments[1],
                               stores=["mysql"])
        # The on-commit enqueue ran on this process's eager app: reset the job and hand it to the real worker.
        copy.refresh_from_db()
        Job.objects.filter(pk=copy.job.pk).update(state="queued", attempts=0, started_at=None, finished_at=None,
                                                  error="", next_seq=1)
        copy.job.events.all().delete()
        DataCopy.objects.filter(pk=copy.pk).update(state="queued", error="", progress={}, snapshots={},
                                                   verification={}, throughput={}, finished_at=None, undo_until=None)
        query(target_ep, "DROP TABLE IF EXISTS big")
        query(target_ep, "CREATE TABLE IF NOT EXISTS precious (id INT PRIMARY KEY, v VARCHAR(10))")
        query(target_ep, "INSERT IGNORE INTO precious VALUES (1, 'keep me')")
        client = Celery("copy-killed-client", broker=url, set_as_current=False)
        client.send_task("migrations_tool.data_copy", args=[str(copy.job.pk), Actor.for_user(qa).to_dict()],
                         queue=queue)
        wait_for(lambda: DataCopy.objects.get(pk=copy.pk).progress.get("mysql", {}).get("rows_done", 0) > 0, 180,
                 "rows being copied")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        copy.refresh_from_db()
        assert copy.state == DataCopy.RUNNING and copy.job.state == Job.RUNNING  # never reported success
        assert copy.snapshots["mysql"]["bucket"] == s3_bucket  # the target is restorable
        first_snapshot = copy.snapshots["mysql"]
        second = start_worker(url, queue, tmp_path)
        wait_for(lambda: DataCopy.objects.get(pk=copy.pk).state in ("verified", "failed"), 300, "the redelivery")
        copy.refresh_from_db()
        assert copy.state == DataCopy.VERIFIED, copy.error
        assert copy.job.attempts == 2 and copy.snapshots["mysql"] == first_snapshot
        assert query(target_ep, "SELECT COUNT(*) FROM big") == ((400000,),)
        data_copy_undo(actor=Actor.for_user(qa), user=qa, copy=copy)  # eager here, after commit
        copy.refresh_from_db()
        assert copy.state == DataCopy.UNDONE, copy.error
        assert query(target_ep, "SHOW TABLES") == (("precious",),)
        assert query(target_ep, "SELECT v FROM precious") == (("keep me",),)
    finally:
        for worker in (first, second):
            if worker is not None and worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=30)
