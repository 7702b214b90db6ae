"""S3 copier: every object under the source prefix to the target prefix, many at once.

Options: ``workers`` (objects in flight, default 16), ``mirror`` (delete
target objects under the prefix that the source does not hold), ``exclude_prefixes`` (keys, relative to
the store's prefix, that the copy neither reads, writes, mirrors away nor verifies: where the production-data
policy leaves personal objects out), ``multipart_threshold`` / ``part_size`` (bytes; see
``s3_store.Tuning``), ``verify`` (default on), ``verify_sample`` (objects whose content hash and
headers are compared, default 20). Objects whose size and ETag already match are skipped, so a
re-run after a kill only moves what is missing. The source is listed page by page as the copies run;
the target is listed once, before: the copy's verification compares the source listing with the ETag
the server returned for each object it wrote (and the target listing for the objects skipped).
Keys under ``contracts.SNAPSHOT_PREFIX`` (the undo snapshots of the environment owning the bucket) are
never copied, overwritten, mirrored away or snapshotted.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from typing import Any, ClassVar, TypeVar

from migrations_tool.contracts import (
    SNAPSHOT_PREFIX,
    CopyError,
    CopyReport,
    Endpoint,
    ProgressFn,
    SnapshotSink,
    StoreOwner,
)
from migrations_tool.s3_store import ObjectGone, ObjectInfo, Side, Tuning, transfer
from portal import aws
from portal.derived_names import S3_BUCKET, bounded_name

# Objects in flight, server-side or streamed (a streamed one holds up to a part). Measured on the moto
# server: 64 sent no faster than 8-16 (the server is CPU-bound) and cost ~40% more client CPU.
DEFAULT_WORKERS = 16
DEFAULT_SAMPLE = 20
# The bucket tag that says which Slipway object a bucket belongs to (its ownership marker).
OWNER_TAG = "slipway-owner"
T = TypeVar("T")


class S3Copier:
    kind: ClassVar[str] = "s3"

    def copy(self, source: Endpoint, target: Endpoint, options: Mapping[str, Any],
             progress: ProgressFn) -> CopyReport:
        """Copy (server-side or streamed), optionally mirror, then verify. Raises CopyError when a
        bucket is missing, an endpoint is unreachable or the credentials are refused."""
        workers = int(options.get("workers") or DEFAULT_WORKERS)
        tuning = Tuning.of(dict(options))
        src, dst = Side(source, role="source", pool=workers), Side(target, role="target", pool=workers)
        if (src.identity[0], src.bucket) == (dst.identity[0], dst.bucket) and (
                src.prefix.startswith(dst.prefix) or dst.prefix.startswith(src.prefix)):
            raise CopyError("source and target overlap: same bucket and nested prefixes")
        if f"/{SNAPSHOT_PREFIX}" in f"/{target.prefix}":
            raise CopyError(f"the target prefix {target.prefix!r} is inside the undo snapshots ({SNAPSHOT_PREFIX})")
        excluded = _exclusions(options)
        # The one listing of the target: what is already there (skipped), what the source lacks (extra).
        present = _without(dst.listing(), excluded)
        listed: dict[str, ObjectInfo] = {}
        tally = {"done": 0, "moved": 0, "bytes": 0, "attempted": 0}
        progress(message=f"copying {'server-side' if src.identity == dst.identity else 'streamed'} "
                         "as the source is listed")

        def to_copy() -> Iterator[tuple[str, ObjectInfo]]:
            # Each listed page goes straight into the copy pool (the next page is fetched meanwhile), so
            # listing a large source overlaps the copies instead of preceding them.
            for page in read_ahead(src.pages()):
                page = _without(page, excluded)
                listed.update(page)
                fresh = {rel: info for rel, info in page.items() if not _unchanged(info, present.get(rel))}
                tally["bytes"] += sum(i.size for i in page.values())
                tally["done"] += len(page) - len(fresh)
                tally["moved"] += sum(i.size for rel, i in page.items() if rel not in fresh)
                tally["attempted"] += len(fresh)
                progress(objects_total=len(listed), bytes_total=tally["bytes"], objects_done=tally["done"],
                         bytes_done=tally["moved"])
                yield from fresh.items()
            progress(message=f"{tally['attempted']} of {len(listed)} objects to copy")

        vanished: set[str] = set()
        written: dict[str, ObjectInfo] = {}  # what the target server said it wrote, by relative key
        for rel, outcome in run_parallel(to_copy(), lambda item: transfer(src, item[0], dst, item[0], item[1],
                                                                          tuning), workers):
            if outcome == "vanished":
                vanished.add(rel)
            else:
                written[rel] = replace(listed[rel], etag=outcome)
                tally["moved"] += listed[rel].size
            tally["done"] += 1
            progress(objects_done=tally["done"], bytes_done=tally["moved"])
        report = CopyReport(counters={"objects": len(written), "objects_skipped": len(listed) - tally["attempted"],
                                      "bytes": tally["moved"]})
        if vanished:
            report.notes.append(f"{len(vanished)} source objects were deleted while the copy ran")
        extra = sorted(set(present) - set(listed))
        if options.get("mirror"):
            dst.delete(extra)
            present = {rel: info for rel, info in present.items() if rel in listed}
            report.counters["objects_removed"] = len(extra)
            report.notes.append(f"mirror: removed {len(extra)} target objects the source does not hold")
        if options.get("verify", True):
            # The target as this copy left it, without listing it again: the server's reply for every
            # object written, the listing taken before for every object skipped or extra.
            copied = {rel: info for rel, info in listed.items() if rel not in vanished}
            report.verified, report.verification = judge(src, dst, copied, {**present, **written}, options)
            report.verification["target_from"] = "copy replies and the listing taken before the copy"
            progress(message="verification " + ("passed" if report.verified else "FAILED"))
        return report

    def verify(self, source: Endpoint, target: Endpoint, options: Mapping[str, Any]) -> tuple[bool, dict[str, Any]]:
        """Both sides listed afresh, then compared as ``judge`` does (used to re-check a copy later)."""
        workers = int(options.get("workers") or DEFAULT_WORKERS)
        src, dst = Side(source, role="source", pool=workers), Side(target, role="target", pool=workers)
        excluded = _exclusions(options)
        ok, details = judge(src, dst, _without(src.listing(), excluded), _without(dst.listing(), excluded), options)
        return ok, {**details, "target_from": "fresh listing"}

    # -- snapshot and restore ----------------------------------------------------------------------

    def snapshot(self, target: Endpoint, sink: SnapshotSink, progress: ProgressFn, *,
                 options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Record the target's objects (never the undo snapshots kept under its prefix). A versioned
        bucket keeps every overwritten or deleted version, so only the version ids are written down;
        otherwise every object is copied to the sink. The options select no subset of the target (what
        a copy overwrites depends on the source), so they do not narrow the snapshot."""
        dst = Side(target, role="target", pool=DEFAULT_WORKERS)
        vault = Side(Endpoint(kind="s3", database=sink.bucket, prefix=f"{sink.prefix}objects/",
                              endpoint_url=sink.endpoint_url), role="snapshot", pool=DEFAULT_WORKERS)
        mode = "versions" if dst.versioned() else "backup"
        objects = dst.latest_versions() if mode == "versions" else dst.listing()
        if mode == "backup":
            tuning, count = Tuning(), 0
            for _rel, _ in run_parallel(objects.items(), lambda item: transfer(dst, item[0], vault, item[0], item[1],
                                                                               tuning), DEFAULT_WORKERS):
                count += 1
                progress(objects_done=count, objects_total=len(objects))
        manifest = {rel: {"size": i.size, "etag": i.etag, "version_id": i.version_id} for rel, i in objects.items()}
        key = f"{sink.prefix}manifest.json"
        with vault.errors("write the snapshot manifest into"):
            vault.client.put_object(Bucket=sink.bucket, Key=key, Body=json.dumps(manifest).encode(),
                                    ContentType="application/json")
        progress(message=f"snapshot of {len(objects)} objects ({mode})")
        return {"kind": self.kind, "mode": mode, "bucket": target.database, "prefix": target.prefix,
                "objects": len(objects), "sink": {"bucket": sink.bucket, "prefix": sink.prefix,
                                                  "endpoint_url": sink.endpoint_url}, "manifest": key}

    def restore(self, target: Endpoint, snapshot: Mapping[str, Any], progress: ProgressFn) -> None:
        """Back to the snapshot: objects created since are deleted, changed or deleted ones are put
        back (from their old version or the sink copy). Idempotent."""
        if snapshot.get("kind") != self.kind or (snapshot.get("bucket"), snapshot.get("prefix")) != (
                target.database, target.prefix):
            raise CopyError("this snapshot was taken of another S3 store")
        sink = snapshot["sink"]
        dst = Side(target, role="target", pool=DEFAULT_WORKERS)
        vault = Side(Endpoint(kind="s3", database=sink["bucket"], prefix=f"{sink['prefix']}objects/",
                              endpoint_url=sink.get("endpoint_url", "")), role="snapshot", pool=DEFAULT_WORKERS)
        with vault.errors("read the snapshot manifest from"):
            body = vault.client.get_object(Bucket=sink["bucket"], Key=snapshot["manifest"])["Body"].read()
        manifest = {rel: ObjectInfo(m["size"], m["etag"], None, m["version_id"]) for rel, m in json.loads(body).items()}
        current = dst.listing()
        dst.delete(sorted(set(current) - set(manifest)))
        changed = {rel: info for rel, info in manifest.items() if not (
            rel in current and (current[rel].size, current[rel].etag) == (info.size, info.etag))}
        origin = dst if snapshot["mode"] == "versions" else vault
        tuning, count = Tuning(), 0
        for _rel, _ in run_parallel(changed.items(), lambda item: transfer(origin, item[0], dst, item[0], item[1],
                                                                           tuning), DEFAULT_WORKERS):
            count += 1
            progress(objects_done=count, objects_total=len(changed))
        progress(message=f"restored {len(changed)} objects, removed {len(set(current) - set(manifest))}")

    # -- a bucket per environment ------------------------------------------------------------------

    def provision(self, server: Endpoint, owner: StoreOwner) -> Endpoint:
        """Create ``owner``'s bucket (``<server.database or 'slipway'>-<name head>-<suffix>``, DNS-safe)
        and tag it with the ownership marker; idempotent. Raises CopyError when the name is taken by
        another account, or the bucket exists without ``owner``'s tag."""
        bucket = bucket_name(server.database or "slipway", owner)
        store = Endpoint(kind="s3", user=server.user, password=server.password, database=bucket,
                         endpoint_url=server.endpoint_url, region=server.region)
        side = Side(store, role="environment")
        region = side.client.meta.region_name
        kwargs = {} if region in (None, "us-east-1") else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        # Look first: in us-east-1, CreateBucket on a bucket this account already owns succeeds silently.
        if self._exists(side):
            if (holder := self._holder(side)) != owner.marker:
                raise CopyError(_refusal(bucket, holder, "take over"))
            return store
        try:
            with side.errors("create"):
                side.client.create_bucket(Bucket=bucket, **kwargs)
        except CopyError as exc:
            if "BucketAlreadyOwnedByYou" not in str(exc):
                raise
            if (holder := self._holder(side)) != owner.marker:
                raise CopyError(_refusal(bucket, holder, "take over")) from None
            return store
        with side.errors("tag"):
            side.client.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": OWNER_TAG,
                                                                               "Value": owner.marker}]})
        return store

    def deprovision(self, store: Endpoint, server: Endpoint, owner: str | None) -> None:
        """Delete every object version under the store (and the bucket itself when the store is a
        whole bucket); a bucket already gone is fine. Raises CopyError, deleting nothing, unless the
        bucket carries ``owner``'s tag (``None``: a bucket made before markers)."""
        side = Side(store, role="environment")
        try:
            if owner is not None and (holder := self._holder(side)) != owner:
                raise CopyError(_refusal(store.database, holder, "empty or delete"))
            with side.errors("empty"):
                # First page again until empty: deleting while paginating skips entries on some servers.
                while doomed := [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in self._first_versions(side)]:
                    reply = side.client.delete_objects(Bucket=store.database, Delete={"Objects": doomed, "Quiet": True})
                    if reply.get("Errors"):
                        raise CopyError(f"{side.where}: cannot delete {reply['Errors'][0]['Key']!r}: "
                                        f"{reply['Errors'][0].get('Message')}")
                if not store.prefix:
                    for page in side.client.get_paginator("list_multipart_uploads").paginate(Bucket=store.database):
                        for up in page.get("Uploads", []):
                            side.client.abort_multipart_upload(Bucket=store.database, Key=up["Key"],
                                                               UploadId=up["UploadId"])
                    side.client.delete_bucket(Bucket=store.database)
        except CopyError as exc:
            if "does not exist" not in str(exc):
                raise

    @staticmethod
    def _exists(side: Side) -> bool:
        try:
            with side.errors("look for"):
                side.client.head_bucket(Bucket=side.bucket)
        except (CopyError, ObjectGone) as exc:
            if isinstance(exc, ObjectGone) or "does not exist" in str(exc):
                return False
            raise
        return True

    @staticmethod
    def _holder(side: Side) -> str | None:
        """The bucket's ownership tag, or None when it has none (CopyError when the bucket is missing)."""
        try:
            with side.errors("read the tags of"):
                tags = side.client.get_bucket_tagging(Bucket=side.bucket).get("TagSet", [])
        except CopyError as exc:
            if "NoSuchTagSet" in str(exc):
                return None
            raise
        return next((t["Value"] for t in tags if t["Key"] == OWNER_TAG), None)

    @staticmethod
    def _first_versions(side: Side) -> list[dict[str, Any]]:
        page = side.client.list_object_versions(Bucket=side.bucket, Prefix=side.prefix, MaxKeys=1000)
        return page.get("Versions", []) + page.get("DeleteMarkers", [])


def judge(src: Side, dst: Side, left: Mapping[str, ObjectInfo], right: Mapping[str, ObjectInfo],
          options: Mapping[str, Any]) -> tuple[bool, dict[str, Any]]:
    """Compare the source objects ``left`` with the target objects ``right``: key sets (equal in mirror
    mode, source ⊆ target otherwise), sizes, single-part ETags (the body's MD5), and for a sample
    (preferring objects whose ETags are not comparable) the headers read from both sides and, when the
    ETags cannot tell, the SHA-256 of both bodies."""
    workers = int(options.get("workers") or DEFAULT_WORKERS)
    common = sorted(set(left) & set(right))
    details: dict[str, Any] = {
        "source_objects": len(left), "target_objects": len(right),
        "missing": sorted(set(left) - set(right))[:20], "extra": len(set(right) - set(left)),
        "size_mismatch": [k for k in common if left[k].size != right[k].size][:20],
        "etag_mismatch": [k for k in common if left[k].single_part and right[k].single_part
                          and left[k].etag != right[k].etag][:20]}
    wanted = int(options.get("verify_sample", DEFAULT_SAMPLE))
    opaque = [k for k in common if not (left[k].single_part and right[k].single_part)]
    rest = [k for k in common if left[k].single_part and right[k].single_part]
    rng = random.Random()
    sample = rng.sample(opaque, min(wanted, len(opaque)))
    sample += rng.sample(rest, min(wanted - len(sample), len(rest)))

    def same(rel: str) -> bool:
        return src.headers(rel) == dst.headers(rel) and (
            (left[rel].single_part and right[rel].single_part) or src.sha256(rel) == dst.sha256(rel))

    details["sampled"] = len(sample)
    details["content_mismatch"] = [rel for rel, ok in run_parallel(sample, same, workers) if not ok][:20]
    ok = not (details["missing"] or details["size_mismatch"] or details["etag_mismatch"]
              or details["content_mismatch"] or (options.get("mirror") and details["extra"]))
    return ok, details


def read_ahead(pages: Iterator[T]) -> Iterator[T]:
    """The items of ``pages``, each next one fetched on another thread while the caller uses the current."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="s3-list") as lister:
        upcoming = lister.submit(next, pages, None)
        while (page := upcoming.result()) is not None:
            upcoming = lister.submit(next, pages, None)
            yield page


def bucket_name(base: str, owner: StoreOwner) -> str:
    """A DNS-safe bucket name (3–63 of a-z 0-9 -): the server's base, the owner's name cut to fit and a
    suffix of the owner's marker, so two owners never share a bucket however long their names."""
    head = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]+", "-", base.lower())).strip("-")[:30].rstrip("-") or "slipway"
    return bounded_name(owner.readable, owner.marker, replace(S3_BUCKET, prefix=f"{head}-"))


def _refusal(bucket: str, holder: str | None, verb: str) -> str:
    if holder is None:
        return (f"bucket {bucket!r} exists without Slipway's ownership tag ({OWNER_TAG}); "
                f"Slipway will not {verb} what it did not create.")
    return f"bucket {bucket!r} belongs to {holder} (tag {OWNER_TAG}); Slipway will not {verb} another owner's bucket."


def _exclusions(options: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(p) for p in options.get("exclude_prefixes") or [])


def _without(listing: Mapping[str, ObjectInfo], excluded: tuple[str, ...]) -> dict[str, ObjectInfo]:
    """The listing less every key under one of the ``excluded`` prefixes."""
    return {rel: info for rel, info in listing.items() if not rel.startswith(excluded)} if excluded else dict(listing)


def _unchanged(info: ObjectInfo, there: ObjectInfo | None) -> bool:
    if there is None or there.size != info.size:
        return False
    if info.etag == there.etag:
        return True
    # ETags of a multipart object depend on its part size: trust a same-size target written later.
    return not (info.single_part and there.single_part) and there.modified >= info.modified


def run_parallel(items: Iterable[Any], work: Callable[[Any], Any], workers: int) -> Iterable[tuple[Any, Any]]:
    """(key, result) as each item finishes, at most ``workers`` in flight and a bounded backlog; the
    key is the item (or its first element). A source object deleted meanwhile yields "vanished"; any
    other failure cancels what is queued and is raised."""
    def key(item: Any) -> Any:
        return item[0] if isinstance(item, tuple) else item

    def run(item: Any) -> Any:
        try:
            return work(item)
        except ObjectGone:
            return "vanished"
        except (aws.ClientError, aws.BotoCoreError) as exc:
            raise CopyError(f"S3 request failed: {exc}") from None

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="s3-copy") as pool:
        pending: dict[Future, Any] = {}
        try:
            for item in items:
                pending[pool.submit(run, item)] = key(item)
                if len(pending) >= workers * 4:
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        yield pending.pop(fut), fut.result()
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    yield pending.pop(fut), fut.result()
        finally:
            for fut in pending:
                fut.cancel()
