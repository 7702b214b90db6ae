"""Undo snapshots of a MariaDB database: ``mariadb-dump`` streamed gzipped into S3, and back.

The password reaches the client tools through ``MYSQL_PWD`` (never on a command line that ``ps``
shows), and their stderr is the error message when they fail.

A dump is data written by the environment's users (rows, routine bodies) and lives in their own
bucket, where they can replace it; replaying it must run SQL on their server and nothing on the
worker. The ``mariadb`` client (10.11) would obey its own commands in the stream — ``\\!``/``system``
(a shell), ``\\.``/``source`` and ``\\T``/``tee`` (files), ``connect`` (the credentials to another
host) — and upload the worker's files for ``LOAD DATA LOCAL``. ``RESTORE_OPTIONS`` turns all of that off.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Mapping
from typing import Any

from . import snapshot_store
from .contracts import CopyError, Endpoint, ProgressFn, SnapshotSink

_DEFINER = r"s/DEFINER=`[^`]*`@`[^`]*`//g"
# --binary-mode: no client commands are parsed at all except DELIMITER (which dumps of routines need)
# and \C; --sandbox: refuse the ones touching files or a shell, should one still be parsed;
# --local-infile=0: LOAD DATA LOCAL cannot read the worker's files. --no-defaults comes first (the
# client's rule) so no option file on the worker can turn any of it back on.
RESTORE_OPTIONS = ("--no-defaults", "--binary-mode", "--sandbox", "--local-infile=0", "--batch")


def _env(endpoint: Endpoint) -> dict[str, str]:
    return {**os.environ, "MYSQL_PWD": str(endpoint.password or "")}


def _args(endpoint: Endpoint) -> list[str]:
    return [f"--host={endpoint.host}", f"--port={int(endpoint.port or 3306)}", f"--user={endpoint.user}",
            "--protocol=TCP"]


def dump_to_s3(target: Endpoint, sink: SnapshotSink, progress: ProgressFn) -> dict[str, Any]:
    """Dump ``target`` (schema, data, views, triggers, routines) to ``sink``; returns the object's reference."""
    key = f"{sink.prefix.rstrip('/')}/mariadb-{target.database}.sql.gz"
    dump = subprocess.Popen(["mariadb-dump", *_args(target), "--single-transaction", "--routines", "--triggers",
                             "--hex-blob", "--skip-lock-tables", "--databases", target.database, "--no-create-db",
                             "--skip-comments"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(target))
    gzip = subprocess.Popen(["gzip", "-1"], stdin=dump.stdout, stdout=subprocess.PIPE)
    dump.stdout.close()
    try:
        snapshot_store.client(sink.endpoint_url).upload_fileobj(gzip.stdout, sink.bucket, key)
    finally:
        gzip.wait()
        dump.wait()
    if dump.returncode != 0:
        raise CopyError(f"Snapshot of {target.database} failed: "
                        f"{dump.stderr.read().decode(errors='replace').strip()[-500:]}")
    size = snapshot_store.client(sink.endpoint_url).head_object(Bucket=sink.bucket, Key=key)["ContentLength"]
    progress(message=f"snapshot of {target.database}: s3://{sink.bucket}/{key} ({size} bytes compressed)")
    return {"bucket": sink.bucket, "key": key, "endpoint_url": sink.endpoint_url, "bytes": size}


def load_from_s3(target: Endpoint, snapshot: Mapping[str, Any], progress: ProgressFn) -> None:
    """Replay a snapshot into ``target`` (which the caller emptied first)."""
    try:
        body = snapshot_store.client(snapshot.get("endpoint_url", "")).get_object(Bucket=snapshot["bucket"],
                                                                                  Key=snapshot["key"])["Body"]
    except Exception as exc:
        raise CopyError(f"Snapshot s3://{snapshot['bucket']}/{snapshot['key']} cannot be read: {exc}") from None
    gunzip = subprocess.Popen(["gzip", "-dc"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    # Objects are recreated by the target's own user, whoever defined them on the dumped server.
    sed = subprocess.Popen(["sed", "-e", _DEFINER], stdin=gunzip.stdout, stdout=subprocess.PIPE)
    client = subprocess.Popen(["mariadb", *RESTORE_OPTIONS, *_args(target), target.database], stdin=sed.stdout,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env(target))
    gunzip.stdout.close()
    sed.stdout.close()
    errors: list[bytes] = []
    reader = threading.Thread(target=lambda: errors.append(client.stderr.read()), daemon=True)
    reader.start()
    try:
        for chunk in body.iter_chunks(1024 * 1024):
            gunzip.stdin.write(chunk)
    except BrokenPipeError:
        pass
    finally:
        gunzip.stdin.close()
        gunzip.wait()
        sed.wait()
        client.wait()
        reader.join()
    if client.returncode != 0:
        raise CopyError(f"Restoring {target.database} failed: {b''.join(errors).decode(errors='replace')[-500:]}")
    progress(message=f"restored {target.database} from s3://{snapshot['bucket']}/{snapshot['key']}")
