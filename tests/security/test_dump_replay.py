"""Class 13: replaying a MariaDB dump runs no client commands (issue 14).

An undo snapshot is a ``mariadb-dump`` file kept in the environment's own S3 store, and its content is
data written by the environment's users (rows, routine bodies, names) — who can also write to that
bucket. Restoring feeds it to the ``mariadb`` client, whose own commands (``\\!`` / ``system`` runs a
shell, ``\\.`` reads a file, ``\\T`` writes one, ``connect`` sends the credentials to another host,
``LOAD DATA LOCAL`` uploads the worker's files) must never run on the worker.
"""

import gzip
import uuid
from pathlib import Path

import pymysql
import pytest

from migrations_tool import mariadb_dump
from migrations_tool.contracts import CopyError, Endpoint, SnapshotSink
from migrations_tool.mariadb import MariaDBCopier
from portal import aws

pytestmark = pytest.mark.integration


def _endpoint(db) -> Endpoint:
    return Endpoint(kind="mysql", host=db["host"], port=db["port"], user=db["user"], password=db["password"],
                    database=db["database"])


def _put_dump(bucket: str, text: str) -> dict:
    key = f"slipway-snapshots/{uuid.uuid4().hex}/mariadb.sql.gz"
    aws.client("s3").put_object(Bucket=bucket, Key=key, Body=gzip.compress(text.encode()))
    return {"bucket": bucket, "key": key, "endpoint_url": ""}


def _hostile_lines(marker: Path, stolen: Path) -> list[str]:
    return [f"\\! touch {marker}-bang",
            f"system touch {marker}-system",
            f"\\T {marker}-tee",
            f"tee {marker}-tee2",
            f"\\. {stolen}",
            f"LOAD DATA LOCAL INFILE '{stolen}' INTO TABLE loot (line);"]


def test_a_tampered_snapshot_runs_no_client_command_on_the_worker(mariadb_database, s3_bucket, tmp_path):
    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    stolen = tmp_path / "worker-secret.sql"
    stolen.write_text("INSERT INTO loot VALUES ('the worker''s file was read');\n")
    target = _endpoint(mariadb_database)
    for line in _hostile_lines(marker, stolen):
        dump = f"CREATE TABLE loot (line VARCHAR(200));\nINSERT INTO loot VALUES ('before');\n{line}\n"
        try:
            mariadb_dump.load_from_s3(target, _put_dump(s3_bucket, dump), lambda **kw: None)
            failed = False
        except CopyError:
            failed = True
        assert not list(tmp_path.glob("pwned-*")), f"the client ran {line!r}"
        conn = pymysql.connect(host=target.host, port=target.port, user=target.user, password=target.password,
                               database=target.database, autocommit=True)
        try:
            cur = conn.cursor()
            cur.execute("SELECT line FROM loot")
            assert "the worker's file was read" not in {r[0] for r in cur.fetchall()}, line
            cur.execute("DROP TABLE loot")
        finally:
            conn.close()
        assert failed, f"a dump with {line!r} was restored as if nothing were wrong"


def test_rows_and_routine_bodies_written_by_users_restore_without_running(mariadb_database, s3_bucket,
                                                                           aws_settings, tmp_path):
    """The real round trip: rows and routine bodies holding client commands on lines of their own are
    dumped and restored whole, and nothing runs."""
    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    target = _endpoint(mariadb_database)
    conn = pymysql.connect(host=target.host, port=target.port, user=target.user, password=target.password,
                           database=target.database, autocommit=True)
    cur = conn.cursor()
    cur.execute("CREATE TABLE t (id INT PRIMARY KEY, v TEXT)")
    cur.execute("INSERT INTO t VALUES (1, %s)", (f"line\n\\! touch {marker}-row\n",))
    cur.execute(f"CREATE PROCEDURE p() BEGIN /*\n\\! touch {marker}-body\n*/ SELECT 1; END")
    conn.close()
    copier = MariaDBCopier()
    snapshot = copier.snapshot(target, SnapshotSink(bucket=s3_bucket, prefix=f"snap/{uuid.uuid4().hex}/"),
                               lambda **kw: None)
    copier.restore(target, snapshot, lambda **kw: None)
    assert not list(tmp_path.glob("pwned-*"))
    conn = pymysql.connect(host=target.host, port=target.port, user=target.user, password=target.password,
                           database=target.database, autocommit=True)
    cur = conn.cursor()
    cur.execute("SELECT v FROM t")
    assert cur.fetchall() == ((f"line\n\\! touch {marker}-row\n",),)
    conn.close()
