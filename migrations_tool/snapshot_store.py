"""Where undo snapshots are kept: the one way the copiers and the copy engine reach a snapshot's bucket.

A snapshot lives in the target environment's own S3 store (``endpoint_url`` set when that store is
an S3-compatible service elsewhere) or in the installation's snapshot bucket. Either way the client
comes from ``portal.aws``, so a snapshot upload or read gets the same adaptive retries and credential
masking as every other AWS call (a second, hand-built client would not).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from portal import aws


def client(endpoint_url: str = "") -> Any:
    """The S3 client for a snapshot stored at ``endpoint_url`` ("" = the installation's S3 endpoint)."""
    return aws.client("s3", endpoint_url=endpoint_url or None)


def installation_bucket() -> str:
    """The installation's snapshot bucket (``SLIPWAY_SNAPSHOT_BUCKET``), created on first use; idempotent."""
    s3, bucket = client(), settings.SLIPWAY_SNAPSHOT_BUCKET
    try:
        s3.head_bucket(Bucket=bucket)
    except Exception:  # the first snapshot of an installation creates the bucket
        s3.create_bucket(Bucket=bucket)
    return bucket
