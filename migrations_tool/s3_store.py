"""One side of an S3 copy (client, bucket, prefix) and the ways one object moves between two sides.

Two sides on the same endpoint with the same credentials copy server-side (``copy_object``, or
``upload_part_copy`` above the multipart threshold): no byte passes through Slipway. Otherwise the
body is streamed: ``get_object`` → ``put_object`` for small objects, ``upload_part`` one part at a
time for large ones, so memory per transfer is bounded by the part size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from migrations_tool.contracts import SNAPSHOT_PREFIX, CopyError, Endpoint
from portal import aws

GiB, MiB = 1 << 30, 1 << 20
# Headers that travel with an object besides its body (``Metadata`` is the x-amz-meta-* map).
CARRIED = ("ContentType", "Metadata", "CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage")


class ObjectGone(CopyError):
    """The source object was deleted while the copy ran (skipped and counted, not a failure)."""


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    etag: str
    modified: datetime
    version_id: str | None = None

    @property
    def single_part(self) -> bool:
        return "-" not in self.etag  # a multipart ETag is "<md5 of md5s>-<parts>", not the body's MD5


@dataclass(frozen=True)
class Tuning:
    """Thresholds and part sizes; ``multipart_threshold``/``part_size`` options override both paths."""

    copy_threshold: int = 5 * GiB  # copy_object's own limit
    copy_part: int = 512 * MiB
    stream_threshold: int = 8 * MiB  # bodies up to this size are read whole: x workers = memory bound
    stream_part: int = 8 * MiB

    @classmethod
    def of(cls, options: dict[str, Any]) -> Tuning:
        threshold, part = options.get("multipart_threshold"), options.get("part_size")
        base = cls()
        # S3's limits: copy_object up to 5 GiB, every part but the last at least 5 MiB.
        return cls(copy_threshold=min(int(threshold or base.copy_threshold), 5 * GiB),
                   copy_part=max(int(part or base.copy_part), 5 * MiB),
                   stream_threshold=int(threshold or base.stream_threshold),
                   stream_part=max(int(part or base.stream_part), 5 * MiB))


class Side:
    """A bucket + prefix reached with one endpoint's client; keys are handled relative to the prefix."""

    def __init__(self, endpoint: Endpoint, *, role: str, pool: int = 10) -> None:
        self.endpoint, self.role = endpoint, role
        self.bucket, self.prefix = endpoint.database, endpoint.prefix
        credentials = ({"access_key_id": endpoint.user, "secret_access_key": str(endpoint.password)}
                       if endpoint.user else None)
        resolved = endpoint.endpoint_url or aws.endpoint_for("s3") or "aws"
        # Same endpoint string and same access key: the server can copy between the two sides itself.
        self.identity = (resolved, endpoint.user)
        self.client = aws.client("s3", region=endpoint.region or None, credentials=credentials,
                                 endpoint_url=endpoint.endpoint_url or None,
                                 config=aws.config(max_pool_connections=pool))

    def key(self, rel: str) -> str:
        return self.prefix + rel

    def listing(self) -> dict[str, ObjectInfo]:
        """The objects under the prefix, by relative key, without the undo snapshots kept there."""
        return {rel: info for page in self.pages() for rel, info in page.items()}

    def pages(self) -> Iterator[dict[str, ObjectInfo]]:
        """The listing one page (up to 1,000 objects, in key order) at a time, as the server sends it."""
        with self.errors("list objects in"):
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
                yield {rel: ObjectInfo(obj["Size"], obj["ETag"].strip('"'), obj["LastModified"])
                       for obj in page.get("Contents", [])
                       if not (rel := obj["Key"][len(self.prefix):]).startswith(SNAPSHOT_PREFIX)}

    def latest_versions(self) -> dict[str, ObjectInfo]:
        found: dict[str, ObjectInfo] = {}
        with self.errors("list object versions in"):
            for page in self.client.get_paginator("list_object_versions").paginate(Bucket=self.bucket,
                                                                                    Prefix=self.prefix):
                for v in page.get("Versions", []):
                    if v["IsLatest"] and not (rel := v["Key"][len(self.prefix):]).startswith(SNAPSHOT_PREFIX):
                        found[rel] = ObjectInfo(v["Size"], v["ETag"].strip('"'), v["LastModified"], v["VersionId"])
        return found

    def versioned(self) -> bool:
        with self.errors("read the versioning state of"):
            return self.client.get_bucket_versioning(Bucket=self.bucket).get("Status") == "Enabled"

    def delete(self, rels: list[str]) -> None:
        with self.errors("delete objects in"):
            for start in range(0, len(rels), 1000):
                chunk = [{"Key": self.key(r)} for r in rels[start:start + 1000]]
                reply = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": chunk, "Quiet": True})
                if reply.get("Errors"):
                    first = reply["Errors"][0]
                    raise CopyError(f"{self.where} refused to delete {first['Key']!r}: {first.get('Message')}")

    def headers(self, rel: str) -> dict[str, Any]:
        with self.errors("read"):
            head = self.client.head_object(Bucket=self.bucket, Key=self.key(rel))
        return {k: head[k] for k in CARRIED if head.get(k) is not None}

    def sha256(self, rel: str) -> str:
        digest = hashlib.sha256()
        with self.errors("read"):
            body = self.client.get_object(Bucket=self.bucket, Key=self.key(rel))["Body"]
            for chunk in body.iter_chunks(MiB):
                digest.update(chunk)
        return digest.hexdigest()

    @property
    def where(self) -> str:
        return f"{self.role} bucket {self.bucket!r}"

    @contextmanager
    def errors(self, doing: str) -> Iterator[None]:
        """botocore errors as a CopyError naming the bucket and endpoint, never the secret key."""
        url = self.identity[0]
        try:
            yield
        except aws.ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code", "")
            if code == "NoSuchBucket":  # in a copy, the missing bucket may be the other side's
                missing = error.get("BucketName") or self.bucket
                who = self.where if missing == self.bucket else f"bucket {missing!r}"
                raise CopyError(f"{who} does not exist (endpoint {url})") from None
            if code in ("NoSuchKey", "404"):
                raise ObjectGone(f"{self.where}: an object went away while trying to {doing} it") from None
            if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken",
                        "ExpiredToken", "403"):
                raise CopyError(f"{self.where} at {url} rejected the credentials (access key "
                                f"{self.endpoint.user or 'from the default chain'!r}) while trying to {doing} it"
                                ) from None
            raise CopyError(f"{self.where}: could not {doing} it: {code} {error.get('Message', '')}".rstrip()) from None
        except aws.NoCredentialsError:
            raise CopyError(f"{self.where}: no AWS credentials are configured") from None
        except aws.EndpointConnectionError:
            raise CopyError(f"{self.where}: cannot reach the S3 endpoint {url}") from None
        except aws.BotoCoreError as exc:
            raise CopyError(f"{self.where} at {url}: {exc}") from None


def transfer(src: Side, rel: str, dst: Side, dst_rel: str, info: ObjectInfo, tuning: Tuning) -> str:
    """Put one object (body, content type, metadata) from ``src`` at ``dst``; server-side when possible.
    ``info.version_id`` picks an older version of the source object. Returns the ETag the target
    server gave the object it wrote (for a single-part object, the MD5 of the body it holds)."""
    source = {"Bucket": src.bucket, "Key": src.key(rel)}
    if info.version_id:
        source["VersionId"] = info.version_id
    target = {"Bucket": dst.bucket, "Key": dst.key(dst_rel)}
    if src.identity == dst.identity and info.size <= tuning.copy_threshold:
        with dst.errors("copy an object into"):
            reply = dst.client.copy_object(CopySource=source, MetadataDirective="COPY", **target)
        return reply["CopyObjectResult"]["ETag"].strip('"')
    if src.identity == dst.identity:
        headers = _headers(src, source)
        return _multipart(dst, target, headers, lambda upload, number, start, end: dst.client.upload_part_copy(
            CopySource=source, CopySourceRange=f"bytes={start}-{end - 1}", UploadId=upload, PartNumber=number,
            **target)["CopyPartResult"]["ETag"], info.size, tuning.copy_part)
    with src.errors("read an object from"):
        got = src.client.get_object(**source)
    headers = {k: got[k] for k in CARRIED if got.get(k) is not None}
    body = got["Body"]
    if info.size <= tuning.stream_threshold:
        with dst.errors("write an object into"):
            return dst.client.put_object(Body=body.read(), **headers, **target)["ETag"].strip('"')

    def send(upload: str, number: int, start: int, end: int) -> str:
        with src.errors("read an object from"):
            chunk = body.read(end - start)
        return dst.client.upload_part(Body=chunk, UploadId=upload, PartNumber=number, **target)["ETag"]

    return _multipart(dst, target, headers, send, info.size, tuning.stream_part)


def _headers(src: Side, source: dict[str, str]) -> dict[str, Any]:
    with src.errors("read an object from"):
        head = src.client.head_object(**source)
    return {k: head[k] for k in CARRIED if head.get(k) is not None}


def _multipart(dst: Side, target: dict[str, str], headers: dict[str, Any], part, size: int, part_size: int) -> str:
    """Create, fill part by part (``part(upload_id, number, start, end) -> etag``), complete (returning
    the object's ETag); abort on any failure so no half-written upload is left billing storage."""
    with dst.errors("start a multipart upload into"):
        upload = dst.client.create_multipart_upload(**headers, **target)["UploadId"]
    try:
        parts = []
        with dst.errors("upload a part into"):
            for number, start in enumerate(range(0, max(size, 1), part_size), start=1):
                etag = part(upload, number, start, min(start + part_size, size))
                parts.append({"PartNumber": number, "ETag": etag})
            reply = dst.client.complete_multipart_upload(UploadId=upload, MultipartUpload={"Parts": parts}, **target)
    except BaseException:
        try:
            dst.client.abort_multipart_upload(UploadId=upload, **target)
        except (aws.ClientError, aws.BotoCoreError):
            pass  # the original error is the one worth reporting
        raise
    return reply["ETag"].strip('"')
