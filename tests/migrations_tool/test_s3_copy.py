"""The S3 copier against the stack's moto server: server-side, multipart and streamed paths."""

from __future__ import annotations

import hashlib
import os
import uuid

import pytest

from migrations_tool.contracts import SNAPSHOT_PREFIX, CopyError, Endpoint, SnapshotSink, StoreOwner
from migrations_tool.s3_copy import S3Copier, bucket_name
from portal import aws
from tests.migrations_tool.support import Progress

pytestmark = pytest.mark.integration
MiB = 1 << 20


@pytest.fixture
def second_bucket(aws_settings):
    s3 = aws.client("s3")
    name = f"t-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    yield name
    S3Copier().deprovision(Endpoint(kind="s3", database=name), Endpoint(kind="s3"), None)


def ep(bucket, prefix="", endpoint_url="") -> Endpoint:
    return Endpoint(kind="s3", database=bucket, prefix=prefix, endpoint_url=endpoint_url)


def put_sample(bucket, prefix) -> dict[str, dict]:
    s3 = aws.client("s3")
    objects = {
        "a.txt": {"Body": b"alpha", "ContentType": "text/plain", "Metadata": {"owner": "qa", "k": "v"}},
        "dir/b.json": {"Body": b'{"b": 1}', "ContentType": "application/json", "CacheControl": "max-age=60"},
        "dir/deep/c.bin": {"Body": os.urandom(70_000), "ContentType": "application/octet-stream",
                           "ContentDisposition": "attachment"},
        "empty": {"Body": b""},
    }
    for rel, kwargs in objects.items():
        s3.put_object(Bucket=bucket, Key=prefix + rel, **kwargs)
    return objects


def snapshot_of(bucket, prefix=""):
    """rel key -> (sha256 of body, content type, metadata, cache control) for every object."""
    s3 = aws.client("s3")
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            got = s3.get_object(Bucket=bucket, Key=obj["Key"])
            found[obj["Key"][len(prefix):]] = (hashlib.sha256(got["Body"].read()).hexdigest(), got.get("ContentType"),
                                               got.get("Metadata"), got.get("CacheControl"),
                                               got.get("ContentDisposition"))
    return found


@pytest.mark.parametrize("target_url", ["", "localhost"], ids=["server-side", "streamed-across-endpoints"])
def test_copy_keeps_keys_bodies_metadata_and_content_type(s3_bucket, second_bucket, aws_settings, target_url):
    put_sample(s3_bucket, "src/")
    if target_url:  # another endpoint string for the same moto server forces the streamed path
        target_url = aws_settings["AWS_ENDPOINT_URL"].replace("127.0.0.1", "localhost")
    progress = Progress()

    report = S3Copier().copy(ep(s3_bucket, "src/"), ep(second_bucket, "env/", target_url), {"workers": 4}, progress)

    assert snapshot_of(second_bucket, "env/") == snapshot_of(s3_bucket, "src/")
    assert report.verified, report.verification
    assert report.counters["objects"] == 4 and report.verification["sampled"] == 4
    assert progress.last("objects_done") == 4 and progress.last("bytes_done") == 70_000 + 5 + 8
    assert ("server-side" if not target_url else "streamed") in progress.calls[0]["message"]


@pytest.mark.parametrize("target_url", ["", "localhost"], ids=["upload-part-copy", "streamed-parts"])
def test_large_objects_go_multipart_and_stay_equal(s3_bucket, second_bucket, aws_settings, target_url):
    s3 = aws.client("s3")
    body = os.urandom(12 * MiB + 123)
    s3.put_object(Bucket=s3_bucket, Key="big.bin", Body=body, ContentType="video/mp4", Metadata={"m": "1"})
    if target_url:
        target_url = aws_settings["AWS_ENDPOINT_URL"].replace("127.0.0.1", "localhost")
    options = {"multipart_threshold": 6 * MiB, "part_size": 5 * MiB}

    report = S3Copier().copy(ep(s3_bucket), ep(second_bucket, "", target_url), options, Progress())

    head = s3.head_object(Bucket=second_bucket, Key="big.bin")
    assert head["ETag"].strip('"').endswith("-3")  # three parts: really went multipart
    assert head["ContentType"] == "video/mp4" and head["Metadata"] == {"m": "1"}
    assert s3.get_object(Bucket=second_bucket, Key="big.bin")["Body"].read() == body
    assert report.verified and report.verification["sampled"] == 1  # ETags differ: compared by SHA-256
    assert not s3.list_multipart_uploads(Bucket=second_bucket).get("Uploads")

    tampered = bytearray(body)
    tampered[7 * MiB] ^= 1  # same size, one bit off, in a multipart object: only the content hash can tell
    upload = s3.create_multipart_upload(Bucket=second_bucket, Key="big.bin", ContentType="video/mp4",
                                        Metadata={"m": "1"})["UploadId"]
    parts = [{"PartNumber": n + 1, "ETag": s3.upload_part(Bucket=second_bucket, Key="big.bin", UploadId=upload,
                                                         PartNumber=n + 1, Body=bytes(tampered[i:i + 6 * MiB]))["ETag"]}
             for n, i in enumerate(range(0, len(tampered), 6 * MiB))]
    s3.complete_multipart_upload(Bucket=second_bucket, Key="big.bin", UploadId=upload, MultipartUpload={"Parts": parts})
    ok, details = S3Copier().verify(ep(s3_bucket), ep(second_bucket, "", target_url), options)
    assert not ok and details["content_mismatch"] == ["big.bin"]


def test_rerun_skips_unchanged_objects_and_mirror_removes_extras(s3_bucket, second_bucket):
    put_sample(s3_bucket, "")
    copier = S3Copier()
    copier.copy(ep(s3_bucket), ep(second_bucket), {}, Progress())
    s3 = aws.client("s3")
    s3.put_object(Bucket=second_bucket, Key="stale.txt", Body=b"old")
    s3.put_object(Bucket=s3_bucket, Key="a.txt", Body=b"alpha v2", ContentType="text/plain")

    report = copier.copy(ep(s3_bucket), ep(second_bucket), {}, Progress())
    assert report.counters["objects"] == 1 and report.counters["objects_skipped"] == 3
    assert report.verified and report.verification["extra"] == 1
    assert s3.get_object(Bucket=second_bucket, Key="a.txt")["Body"].read() == b"alpha v2"

    report = copier.copy(ep(s3_bucket), ep(second_bucket), {"mirror": True}, Progress())
    assert report.counters == {"objects": 0, "objects_skipped": 4, "bytes": report.counters["bytes"],
                               "objects_removed": 1}
    assert report.verified
    assert snapshot_of(second_bucket) == snapshot_of(s3_bucket)


def test_verification_catches_a_tampered_target(s3_bucket, second_bucket):
    put_sample(s3_bucket, "")
    copier = S3Copier()
    assert copier.copy(ep(s3_bucket), ep(second_bucket), {}, Progress()).verified
    s3 = aws.client("s3")

    s3.put_object(Bucket=second_bucket, Key="a.txt", Body=b"alphX", ContentType="text/plain",
                  Metadata={"owner": "qa", "k": "v"})
    ok, details = copier.verify(ep(s3_bucket), ep(second_bucket), {})
    assert not ok and details["etag_mismatch"] == ["a.txt"]

    s3.put_object(Bucket=second_bucket, Key="a.txt", Body=b"alpha", ContentType="text/html",
                  Metadata={"owner": "qa", "k": "v"})
    ok, details = copier.verify(ep(s3_bucket), ep(second_bucket), {})
    assert not ok and details["content_mismatch"] == ["a.txt"]

    s3.delete_object(Bucket=second_bucket, Key="empty")
    ok, details = copier.verify(ep(s3_bucket), ep(second_bucket), {})
    assert not ok and details["missing"] == ["empty"]


def test_the_copys_verification_reads_what_the_server_wrote_not_the_listing(s3_bucket, second_bucket):
    """The copy verifies without listing the target again: a source object rewritten between its
    listing and its copy lands with another ETag in the copy's reply, which fails the check."""
    put_sample(s3_bucket, "")
    s3 = aws.client("s3")
    rewritten = []

    def rewrite_after_listing(counters):
        if "objects_total" in counters and not rewritten:  # the page is listed, its copies not yet sent
            rewritten.append(True)
            s3.put_object(Bucket=s3_bucket, Key="a.txt", Body=b"alphX", ContentType="text/plain")

    report = S3Copier().copy(ep(s3_bucket), ep(second_bucket), {"workers": 1}, Progress(rewrite_after_listing))

    assert rewritten and s3.get_object(Bucket=second_bucket, Key="a.txt")["Body"].read() == b"alphX"
    assert not report.verified and report.verification["etag_mismatch"] == ["a.txt"]
    assert report.verification["target_from"] == "copy replies and the listing taken before the copy"
    assert S3Copier().verify(ep(s3_bucket), ep(second_bucket), {})[0]  # a fresh look: both sides now agree


@pytest.mark.parametrize("versioned", [False, True], ids=["backup-prefix", "bucket-versions"])
def test_snapshot_copy_mirror_restore_gives_back_the_exact_target(s3_bucket, second_bucket, versioned):
    s3 = aws.client("s3")
    if versioned:
        s3.put_bucket_versioning(Bucket=second_bucket, VersioningConfiguration={"Status": "Enabled"})
    put_sample(s3_bucket, "")
    s3.put_object(Bucket=second_bucket, Key="env/a.txt", Body=b"target's a", Metadata={"mine": "1"})
    s3.put_object(Bucket=second_bucket, Key="env/only-target", Body=b"will be mirrored away",
                  ContentType="text/csv")
    s3.put_object(Bucket=second_bucket, Key="outside", Body=b"not in scope")
    before = snapshot_of(second_bucket)
    copier = S3Copier()
    sink = SnapshotSink(bucket=s3_bucket, prefix=f"slipway-snapshots/{uuid.uuid4().hex}/s3/")

    ref = copier.snapshot(ep(second_bucket, "env/"), sink, Progress())
    assert ref["mode"] == ("versions" if versioned else "backup") and ref["objects"] == 2
    copier.copy(ep(s3_bucket, "", ""), ep(second_bucket, "env/"), {"mirror": True}, Progress())
    assert snapshot_of(second_bucket, "env/") != {k[4:]: v for k, v in before.items() if k.startswith("env/")}

    copier.restore(ep(second_bucket, "env/"), ref, Progress())
    assert snapshot_of(second_bucket) == before
    copier.restore(ep(second_bucket, "env/"), ref, Progress())  # idempotent
    assert snapshot_of(second_bucket) == before


def test_undo_snapshots_in_the_target_bucket_survive_copy_mirror_snapshot_and_restore(s3_bucket, second_bucket):
    """The environment's undo snapshots share its bucket: copies neither carry, clobber nor mirror them away."""
    s3 = aws.client("s3")
    put_sample(s3_bucket, "")
    s3.put_object(Bucket=s3_bucket, Key=f"{SNAPSHOT_PREFIX}env/1/redis/x.snapshot", Body=b"the source's")
    ours = {f"{SNAPSHOT_PREFIX}env/1/redis/x.snapshot": b"the target's", f"{SNAPSHOT_PREFIX}env/2/mysql/d.gz": b"db"}
    for key, body in ours.items():
        s3.put_object(Bucket=second_bucket, Key=key, Body=body)
    s3.put_object(Bucket=second_bucket, Key="extra", Body=b"mirrored away")
    copier = S3Copier()
    ref = copier.snapshot(ep(second_bucket), SnapshotSink(bucket=second_bucket, prefix=f"{SNAPSHOT_PREFIX}env/3/s3/"),
                          Progress(), options={"mirror": True})
    assert ref["objects"] == 1  # "extra" only: never the snapshots already there

    report = copier.copy(ep(s3_bucket), ep(second_bucket), {"mirror": True}, Progress())
    assert report.verified and report.counters["objects_removed"] == 1
    for key, body in ours.items():
        assert s3.get_object(Bucket=second_bucket, Key=key)["Body"].read() == body
    copier.restore(ep(second_bucket), ref, Progress())
    assert [k for k in snapshot_of(second_bucket) if not k.startswith(SNAPSHOT_PREFIX)] == ["extra"]
    for key, body in ours.items():
        assert s3.get_object(Bucket=second_bucket, Key=key)["Body"].read() == body
    with pytest.raises(CopyError, match="inside the undo snapshots"):
        copier.copy(ep(s3_bucket), ep(second_bucket, f"data/{SNAPSHOT_PREFIX}"), {}, Progress())


def test_missing_bucket_and_unreachable_endpoint_are_clear_errors(s3_bucket, aws_settings):
    with pytest.raises(CopyError, match="source bucket 'no-such-bucket-here' does not exist"):
        S3Copier().copy(ep("no-such-bucket-here"), ep(s3_bucket), {}, Progress())
    from devstack.process import free_port

    dead = Endpoint(kind="s3", database="b", endpoint_url=f"http://127.0.0.1:{free_port()}", user="AKIAX",
                    password="very-secret-key")
    with pytest.raises(CopyError, match="cannot reach the S3 endpoint") as caught:
        S3Copier().copy(ep(s3_bucket), dead, {}, Progress())
    assert "very-secret-key" not in str(caught.value)


def test_provision_is_idempotent_and_deprovision_empties_and_deletes(aws_settings):
    server = Endpoint(kind="s3", database="slipway-test")
    name = StoreOwner(readable=f"QA_Env {uuid.uuid4().hex[:6]}", marker=f"test/environment/{uuid.uuid4().hex}")
    copier = S3Copier()
    store = copier.provision(server, name)
    assert store == copier.provision(server, name)
    assert store.database == bucket_name("slipway-test", name)
    assert store.database.startswith("slipway-test-qa-env-")
    s3 = aws.client("s3")
    s3.put_object(Bucket=store.database, Key="x/y", Body=b"1")
    s3.create_multipart_upload(Bucket=store.database, Key="half")

    copier.deprovision(store, server, name.marker)
    copier.deprovision(store, server, name.marker)
    assert store.database not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_bucket_names_are_dns_safe_and_distinct():
    assert bucket_name("slipway", StoreOwner("qa-1", "m/environment/1")).startswith("slipway-qa-1-")
    odd = [bucket_name("slipway", StoreOwner(n, f"m/environment/{i}"))
           for i, n in enumerate(("QA_1", "qa 1", "x" * 80, "Ünïcode!"))]
    assert len(set(odd)) == 4
    for name in odd:
        assert 3 <= len(name) <= 63 and name == name.lower() and name[0].isalnum() and name[-1].isalnum()
        assert all(c.isalnum() or c == "-" for c in name)


def test_source_bucket_deleted_midway_fails_the_copy_with_a_clear_error(s3_bucket, aws_settings):
    s3 = aws.client("s3")
    source = f"t-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=source)
    for i in range(40):
        s3.put_object(Bucket=source, Key=f"k{i:02d}", Body=b"x")

    dropped = []

    def drop_source(counters):
        if counters.get("objects_done") and not dropped:
            dropped.append(True)
            S3Copier().deprovision(ep(source), ep(source), None)

    with pytest.raises(CopyError, match=f"bucket '{source}' does not exist"):
        S3Copier().copy(ep(source), ep(s3_bucket, "copy/"), {"workers": 1}, Progress(drop_source))


def test_overlapping_source_and_target_are_refused(s3_bucket):
    with pytest.raises(CopyError, match="overlap"):
        S3Copier().copy(ep(s3_bucket, "data/"), ep(s3_bucket, "data/copy/"), {}, Progress())
