"""One data copy of MariaDB + Redis + S3 at once, through the API, the job and the undo: every target store
is snapshotted first, copied, verified and reported per store, and the undo puts all three back exactly.
The undo snapshots live in the target's own bucket, which the S3 copy (in mirror mode) must leave alone."""

import io

import pytest
from django.core.management import call_command

from migrations_tool.contracts import SNAPSHOT_PREFIX
from migrations_tool.models import DataCopy
from portal.jobs.models import Job, JobEvent

from .conftest import fill, query
from .test_copy_jobs import prepare_target, state_of

pytestmark = pytest.mark.integration

OLD_SNAPSHOT = f"{SNAPSHOT_PREFIX}qa-target/0/mysql/mariadb-earlier.sql.gz"


def redis_state(client, prefix=b""):
    """Every key under ``prefix`` (prefix stripped): its DUMP payload and whether it has a TTL."""
    return {key[len(prefix):]: (client.dump(key), client.pttl(key) > 0) for key in client.scan_iter(prefix + b"*")}


def bucket_state(s3, bucket):
    """Every object: body, content type and user metadata."""
    state = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            got = s3.get_object(Bucket=bucket, Key=obj["Key"])
            state[obj["Key"]] = (got["Body"].read(), got["ContentType"], got["Metadata"])
    return state


def fill_all(world):
    fill(world["source_ep"], customers=8)
    prepare_target(world["target_ep"])
    src, prefix = world["source_redis"], world["source_prefix"]
    src.set(f"{prefix}session:1", "alice", ex=3600)
    src.set(f"{prefix}session:2", "bob")
    src.rpush(f"{prefix}queue", "a", "b", "c")
    src.hset(f"{prefix}cart:9", mapping={"sku": "42", "qty": "2"})
    dst = world["target_redis"]
    dst.set("session:1", "stale", ex=600)
    dst.hset("only-in-target", mapping={"x": "1"})
    s3, source_bucket, target_bucket = world["s3"], world["source_bucket"], world["bucket"]
    s3.put_object(Bucket=source_bucket, Key="a.txt", Body=b"new a", ContentType="text/plain",
                  Metadata={"owner": "qa"})
    s3.put_object(Bucket=source_bucket, Key="img/b.bin", Body=b"\x00\x01" * 500, ContentType="image/png")
    # the source's own undo snapshots are not data: they must not travel into the target
    s3.put_object(Bucket=source_bucket, Key=f"{SNAPSHOT_PREFIX}qa-source/1/mysql/dump.sql.gz", Body=b"theirs")
    s3.put_object(Bucket=target_bucket, Key="a.txt", Body=b"old a", ContentType="text/csv")
    s3.put_object(Bucket=target_bucket, Key="extra.txt", Body=b"mirror removes me")
    s3.put_object(Bucket=target_bucket, Key=OLD_SNAPSHOT, Body=b"an earlier copy's snapshot")


def target_state(world):
    return {"mysql": state_of(world["target_ep"]), "redis": redis_state(world["target_redis"]),
            "s3": bucket_state(world["s3"], world["bucket"])}


def data_only(s3_state):
    return {key: value for key, value in s3_state.items() if not key.startswith(SNAPSHOT_PREFIX)}


def test_api_copies_three_stores_verified_per_store_and_undo_restores_all(three_store_world, api_for,
                                                                         django_capture_on_commit_callbacks):
    world = three_store_world
    fill_all(world)
    before = target_state(world)
    api = api_for(world["users"]["qa"])
    body = {"source": world["source"].pk, "target": world["target"].pk, "stores": ["mysql", "redis", "s3"],
            "options": {"redis": {"mirror": True}, "s3": {"mirror": True},
                        "masking": {"customers.email": "email"}}}
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/data-copies/", body, format="json")
    assert response.status_code == 202, response.json()
    data = api.get(f"/api/v1/data-copies/{response.json()['id']}/").json()
    copy = DataCopy.objects.get(pk=data["id"])
    assert data["state"] == "verified", data["error"]
    assert sorted(data["restorable"]) == ["mysql", "redis", "s3"]
    assert copy.job.state == Job.SUCCEEDED and copy.job.progress == 100
    for kind, unit in (("mysql", "rows"), ("redis", "keys"), ("s3", "objects")):
        assert data["verification"][kind]["verified"] is True, data["verification"][kind]
        assert copy.progress[kind]["phase"] == "verified"
        assert copy.progress[kind][f"{unit}_done"] == copy.progress[kind][f"{unit}_total"] > 0
    logs = "\n".join(JobEvent.objects.filter(job=copy.job).values_list("text", flat=True))
    assert "[redis] verified" in logs and "[s3] verified" in logs and "[mysql] verified" in logs

    # every snapshot went to the target's bucket; the S3 one holds the target's data only
    assert {ref["bucket"] for ref in copy.snapshots.values() if "bucket" in ref} <= {world["bucket"]}
    assert copy.snapshots["s3"]["sink"]["bucket"] == world["bucket"] and copy.snapshots["s3"]["objects"] == 2

    after = target_state(world)
    assert redis_state(world["target_redis"]) == redis_state(world["source_redis"], world["source_prefix"].encode())
    assert data_only(after["s3"]) == {k: v for k, v in bucket_state(world["s3"], world["source_bucket"]).items()
                                      if not k.startswith(SNAPSHOT_PREFIX)}
    snapshots = {k for k in after["s3"] if k.startswith(SNAPSHOT_PREFIX)}
    assert OLD_SNAPSHOT in snapshots and after["s3"][OLD_SNAPSHOT] == before["s3"][OLD_SNAPSHOT]
    assert not any(k.startswith(f"{SNAPSHOT_PREFIX}qa-source/") for k in snapshots)
    assert {k.split("/")[3] for k in snapshots - {OLD_SNAPSHOT}} == {"mysql", "redis", "s3"}
    assert query(world["target_ep"], "SELECT COUNT(*) FROM customers WHERE email LIKE '%%@corp.example'") == ((0,),)

    with django_capture_on_commit_callbacks(execute=True):
        undo = api.post(f"/api/v1/data-copies/{copy.pk}/undo/")
    assert undo.status_code == 202
    copy.refresh_from_db()
    assert copy.state == DataCopy.UNDONE, copy.error
    restored = target_state(world)
    assert restored["mysql"] == before["mysql"] and restored["redis"] == before["redis"]
    assert data_only(restored["s3"]) == data_only(before["s3"])
    assert restored["s3"][OLD_SNAPSHOT] == before["s3"][OLD_SNAPSHOT]


@pytest.mark.django_db(transaction=True)  # the command commits; the (eager) job runs on commit as with a worker
def test_copydata_command_copies_mysql_redis_and_s3(three_store_world):
    world = three_store_world
    fill_all(world)
    out = io.StringIO()
    call_command("copydata", "--from", "qa-source", "--to", "qa-target", "--stores", "mysql,redis,s3", "--as", "qa",
                 stdout=out)
    text = out.getvalue()
    copy = DataCopy.objects.get()
    assert copy.state == DataCopy.VERIFIED, copy.error
    for kind in ("mysql", "redis", "s3"):
        assert f"{kind}: verified" in text
    assert "keys" in text and "objects" in text and "] 100%" in text
    assert world["target_redis"].get("session:2") == b"bob"
    assert world["target_redis"].exists("only-in-target")  # no mirror asked: extra keys stay
    assert world["s3"].get_object(Bucket=world["bucket"], Key="a.txt")["Body"].read() == b"new a"
    assert world["s3"].get_object(Bucket=world["bucket"], Key=OLD_SNAPSHOT)["Body"].read() == (
        b"an earlier copy's snapshot")
