"""The MariaDB/MySQL copier: consistent snapshot, schema then data in parallel, keys built last, verified.

Reading: every reader runs inside ``START TRANSACTION WITH CONSISTENT SNAPSHOT``. When the source user
may ``FLUSH TABLES WITH READ LOCK``, several readers open their snapshots under that lock (the same
point in time, as mydumper does); otherwise one reader feeds all writers. Rows leave the server
ready-made as LOAD DATA text or INSERT literals, joined by the server per key range where it can
(``mariadb_read``, formats in ``mariadb_load``).

Writing: tables are created without secondary and foreign keys, filled by parallel writers with
foreign-key and unique checks off, then the keys are added in one ``ALTER TABLE`` per table, then
views, triggers and routines. Verification compares row counts and an order-independent digest of
every unmasked column, computed by both servers (the source inside its snapshot).
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import pymysql

from . import mariadb_accounts, mariadb_dump, mariadb_load
from .contracts import CopyError, CopyReport, Endpoint, ProgressFn, SnapshotSink, StoreOwner
from .mariadb_connection import connect
from .mariadb_connection import reason as _reason
from .mariadb_load import Spool
from .mariadb_read import STATEMENT_BYTES, Plan, Task, read_batches
from .mariadb_schema import Schema, Table, quote_name, read_schema
from .mariadb_verify import Background, measurer, table_sum, verify_digests
from .masking import Masker, parse_rules
from .row_filter import parse_row_filter

_DONE = object()


class _Counters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows = 0
        self.bytes = 0
        self.tables_done = 0
        self.pending: dict[str, int] = {}  # tasks of a table not yet read to the end
        self.batches: dict[str, int] = {}  # batches of a table read but not yet written
        self.read: dict[str, int] = {}  # rows of a table read from the source snapshot
        self.messages: list[str] = []

    def add(self, rows: int, size: int) -> None:
        with self.lock:
            self.rows += rows
            self.bytes += size


class MariaDBCopier:
    kind = "mysql"

    def __init__(self, *, workers: int = 4, chunk_rows: int = 5000) -> None:
        self.workers = max(1, workers)
        self.chunk_rows = chunk_rows

    # -- copy ------------------------------------------------------------------------------------
    def copy(self, source: Endpoint, target: Endpoint, options: Mapping[str, Any],
             progress: ProgressFn) -> CopyReport:
        wanted = int(options.get("workers") or self.workers)
        verify = bool(options.get("verify", True))
        # With verification and several readers, one more connection in the same snapshot measures the
        # source from the start, so its checksums do not all fall at the end, when reading is over.
        readers = self._open_snapshot_readers(source, wanted + 1 if verify and wanted > 1 else wanted)
        checksummer = readers.pop() if verify and len(readers) > wanted else None
        writers: list[Any] = []
        try:
            schema = read_schema(readers[0].cursor(), source.database)
            writers = [self._writer(target) for _ in range(max(len(readers), wanted))]
            plan = self._plan(schema, options, target, load=mariadb_load.local_infile_allowed(writers[0]))
            progress(tables_total=len(plan.tables), tables_done=0,
                     rows_total=sum(t.rows_estimate for t in plan.tables), rows_done=0, bytes_done=0,
                     message=f"copying {len(plan.tables)} table(s) with {len(readers)} reader(s) and "
                             f"{len(writers)} writer(s)")
            self._create(writers[0], target.database, schema, plan)
            same_version = _version(readers[0]) == _version(writers[0])
            source_sums: dict[str, tuple[int | None, Any]] = {}
            # The measuring connection, then readers done reading, measure the source (one shared list of
            # tables) while writers still load.
            measure = measurer(plan, "source", same_version, source_sums) if plan.verify else None
            early = Background(measure, checksummer) if measure is not None and checksummer is not None else None
            # Writers measure each table as soon as its keys are built, while the others still load:
            # only the tables finished last are left for the verification step.
            target_sums: dict[str, tuple[int, Any]] = {}

            def measure_target(conn, table: Table) -> None:
                target_sums[table.name] = table_sum(conn, plan, table, "target", same_version)
            counters = self._load(readers, writers, plan, progress, after_reading=measure,
                                  after_table=measure_target if plan.verify else None)
            if early is not None:
                early.join()
            for name, (rows, digest) in list(source_sums.items()):
                if rows is None:  # counted while read, inside the snapshot the digest was taken in
                    source_sums[name] = (counters.read.get(name, 0), digest)
            self._create_programs(writers[0], schema, plan)
            report = CopyReport(counters={"tables": len(plan.tables), "rows": counters.rows,
                                          "bytes": counters.bytes, "views": len(plan.views)})
            if plan.verify:
                progress(message="verifying row counts and checksums")
                report.verification = verify_digests(writers, plan, same_version, source_sums, target_sums)
                report.verified = all(v["ok"] for v in report.verification.values())
                if not report.verified:
                    bad = sorted(k for k, v in report.verification.items() if not v["ok"])
                    report.notes.append(f"verification failed for: {', '.join(bad)}")
            return report
        except pymysql.MySQLError as exc:
            raise CopyError(f"MariaDB copy failed: {_reason(exc)}") from None
        finally:
            for conn in readers + writers + ([checksummer] if checksummer is not None else []):
                conn.close()

    def _open_snapshot_readers(self, source: Endpoint, wanted: int) -> list[Any]:
        first = connect(source, side="source")
        readers = [first]
        lock = None
        if wanted > 1:
            lock = connect(source, side="source")
            try:
                lock.cursor().execute("FLUSH TABLES WITH READ LOCK")
            except pymysql.MySQLError:
                lock.close()
                lock = None  # no RELOAD privilege: one snapshot, one reader
        try:
            readers += [connect(source, side="source") for _ in range(wanted - 1 if lock else 0)]
            for conn in readers:
                cur = conn.cursor()
                cur.execute("SET SESSION time_zone='+00:00', SESSION group_concat_max_len=%s", (STATEMENT_BYTES,))
                cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        finally:
            if lock is not None:
                lock.cursor().execute("UNLOCK TABLES")
                lock.close()
        return readers

    def _writer(self, target: Endpoint):
        conn = connect(target, side="target", local_infile=True)
        conn.cursor().execute("SET SESSION foreign_key_checks=0, SESSION unique_checks=0, SESSION time_zone='+00:00',"
                              " SESSION sql_mode='NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'")
        return conn

    def _plan(self, schema: Schema, options: Mapping[str, Any], target: Endpoint, *, load: bool) -> Plan:
        include = list(options.get("include_tables") or [])
        exclude = set(options.get("exclude_tables") or [])
        unknown = sorted((set(include) | exclude) - set(schema.tables) - set(schema.views))
        if unknown:
            raise CopyError(f"Unknown table(s) in include/exclude: {', '.join(unknown)}.")
        names = [n for n in (include or schema.tables) if n in schema.tables and n not in exclude]
        tables = [schema.tables[n] for n in names]
        filters = {}
        for name, expression in (options.get("filters") or {}).items():
            if name not in schema.tables:
                raise CopyError(f"Row filter for unknown table {name!r}.")
            # Checked again here against the real columns: the web edge could not see the source schema.
            filters[name] = parse_row_filter(expression, table=name,
                                             columns=[c.name for c in schema.tables[name].columns])
        rules = parse_rules(options.get("masking") or {})
        for table, columns in rules.items():
            known = {c.name for c in schema.tables[table].columns} if table in schema.tables else set()
            missing = sorted(set(columns) - known)
            if table not in schema.tables or missing:
                raise CopyError(f"Masking rule for unknown column(s): {table}.{', '.join(missing) or '*'}.")
        masker = Masker(options["masking_key"]) if rules else None
        if include:
            replaced = [n for n in include if n not in exclude]
        else:
            replaced = [n for n in _target_objects(target) if n not in exclude]
        views = {n: ddl for n, ddl in schema.views.items() if (not include or n in include) and n not in exclude}
        formats = {t.name: mariadb_load.load_format(t) if load and t.name not in rules
                   else mariadb_load.insert_format(t, masked=t.name in rules) for t in tables}
        return Plan(tables, views, replaced, filters, rules, masker, bool(options.get("verify", True)), formats)

    def _create(self, conn, database: str, schema: Schema, plan: Plan) -> None:
        cur = conn.cursor()
        cur.execute("SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s",
                    (database,))
        existing = dict(cur.fetchall())
        for name in sorted(set(plan.replaced) | {t.name for t in plan.tables} | set(plan.views)):
            kind = existing.get(name)
            if kind == "VIEW":
                cur.execute(f"DROP VIEW IF EXISTS {quote_name(name)}")
            elif kind:
                cur.execute(f"DROP TABLE IF EXISTS {quote_name(name)}")
        for table in plan.tables:
            cur.execute(table.create_sql)

    def _create_programs(self, conn, schema: Schema, plan: Plan) -> None:
        cur = conn.cursor()
        copied = {t.name for t in plan.tables}
        pending = dict(plan.views)
        while pending:  # views may select from views: create what can be created until nothing moves
            failed: dict[str, str] = {}
            errors = []
            for name, ddl in pending.items():
                try:
                    cur.execute(ddl)
                except pymysql.MySQLError as exc:
                    failed[name] = ddl
                    errors.append(f"{name}: {_reason(exc)}")
            if len(failed) == len(pending):
                raise CopyError("Cannot create view(s) on the target: " + "; ".join(errors))
            pending = failed
        for name, (table, ddl) in schema.triggers.items():
            if table in copied:
                cur.execute(f"DROP TRIGGER IF EXISTS {quote_name(name)}")
                cur.execute(ddl)
        for key, ddl in schema.routines.items():
            kind, _, name = key.partition(" ")
            cur.execute(f"DROP {kind} IF EXISTS {quote_name(name)}")
            if ddl:
                cur.execute(ddl)

    # -- data --------------------------------------------------------------------------------------
    def _tasks(self, reader, plan: Plan, parallel: int) -> list[Task]:
        """Tasks in the order to read them: the largest first (longest-processing-time scheduling). A
        table without an integer key is one task read and written by one stream, so it starts early,
        beside the pieces of the split ones; what runs alone at the end is a small piece and a small
        table's key build and checksum (bench/copy_mariadb.py: 4.7 against 5.2 s on 185 MB)."""
        sized: list[tuple[float, int, Task]] = []
        cur = reader.cursor()
        for table in plan.tables:
            pieces = [Task(table)]
            if parallel > 1 and table.integer_pk and table.rows_estimate > self.chunk_rows * 4:
                pk = quote_name(table.primary_key[0])
                cur.execute(f"SELECT MIN({pk}), MAX({pk}) FROM {quote_name(table.name)}")
                low, high = cur.fetchone()
                if low is not None:
                    step = max(1, (high - low + parallel * 2) // (parallel * 2))
                    bounds = list(range(low - 1, high, step)) + [high]
                    pieces = [Task(table, lo, hi) for lo, hi in itertools.pairwise(bounds)]
            size = (table.bytes_estimate or table.rows_estimate) / len(pieces)
            sized += [(size, len(sized), task) for task in pieces]
        return [task for _, _, task in sorted(sized, key=lambda s: (-s[0], s[1]))]

    def _load(self, readers, writers, plan: Plan, progress: ProgressFn, *,
              after_reading: Callable[[Any], None] | None = None,
              after_table: Callable[[Any, Table], None] | None = None) -> _Counters:
        """Readers fill a bounded queue of batches that writers send; a table's keys are built by the
        writer that finishes it, while the others go on loading, and that writer then runs
        ``after_table(connection, table)``. Each reader runs ``after_reading`` when it has read all."""
        counters = _Counters()
        tasks: queue.Queue = queue.Queue()
        for task in self._tasks(readers[0], plan, len(readers)):
            tasks.put(task)
            counters.pending[task.table.name] = counters.pending.get(task.table.name, 0) + 1
        tables = {t.name: t for t in plan.tables}
        batches: queue.Queue = queue.Queue(maxsize=len(writers) * 4)  # bounds memory
        errors: list[BaseException] = []
        stop = threading.Event()
        reading = threading.Semaphore(0)  # released once by each reader when it has no task left

        def guard(fn: Callable[[], None]) -> Callable[[], None]:
            def run() -> None:
                try:
                    fn()
                except BaseException as exc:
                    errors.append(exc)
                    stop.set()
            return run

        def read(conn) -> Callable[[], None]:
            def body() -> None:
                try:
                    drain(conn)
                finally:
                    reading.release()
                if after_reading is not None and not stop.is_set():
                    after_reading(conn)

            def drain(conn) -> None:
                while not stop.is_set():
                    try:
                        task = tasks.get_nowait()
                    except queue.Empty:
                        return
                    sent = rows = 0
                    for batch in read_batches(conn, task, plan, self.chunk_rows):
                        if not _put(batches, batch, stop):
                            return
                        sent, rows = sent + 1, rows + batch[3]
                    with counters.lock:
                        counters.read[task.table.name] = counters.read.get(task.table.name, 0) + rows
                    _put(batches, (task.table.name, None, b"", sent, 0), stop)  # end of one task: its batches
            return body

        def write(conn) -> Callable[[], None]:
            def body() -> None:
                cur, spool = conn.cursor(), Spool()
                try:
                    drain(cur, spool)
                finally:
                    spool.close()

            def drain(cur, spool: Spool) -> None:
                while not stop.is_set():
                    try:
                        item = batches.get(timeout=0.5)
                    except queue.Empty:
                        continue
                    if item is _DONE:
                        return
                    name, fmt, payload, rows, size = item
                    if fmt is not None:
                        spool.write(cur, fmt, name, payload)
                        counters.add(rows, size)
                    # A table is whole once every task's end has come AND every batch is written: another
                    # writer may still be sending a batch it took before this end marker was taken.
                    with counters.lock:
                        if fmt is None:
                            counters.pending[name] -= 1
                            counters.batches[name] = counters.batches.get(name, 0) + rows
                        counters.batches[name] = counters.batches.get(name, 0) - (fmt is not None)
                        complete = counters.pending[name] == 0 and counters.batches[name] == 0
                    if complete:
                        finish(cur, tables[name])

            def finish(cur, table: Table) -> None:
                if table.deferred:
                    with counters.lock:
                        counters.messages.append(f"building the keys of {table.name}")
                    cur.execute(f"ALTER TABLE {quote_name(table.name)} " + ", ".join(table.deferred))
                if after_table is not None:
                    after_table(cur.connection, table)
                with counters.lock:
                    counters.tables_done += 1
            return body

        read_threads = [threading.Thread(target=guard(read(c)), daemon=True) for c in readers]
        write_threads = [threading.Thread(target=guard(write(c)), daemon=True) for c in writers]
        for thread in read_threads + write_threads:
            thread.start()
        done_reading = 0
        while done_reading < len(readers) and not stop.is_set():
            self._report(counters, progress)
            if reading.acquire(timeout=0.5):
                done_reading += 1
        for _ in write_threads:
            _put(batches, _DONE, stop)
        while any(t.is_alive() for t in write_threads + read_threads) and not stop.is_set():
            self._report(counters, progress)
            time.sleep(0.2)
        if stop.is_set():
            # Readers stop at their next batch; let every thread finish before the connections close (a
            # streaming cursor collected after its connection closed raises in its finalizer).
            for thread in write_threads + read_threads:
                thread.join(timeout=60)
        if errors:
            exc = errors[0]
            if isinstance(exc, CopyError):
                raise exc
            raise CopyError(f"MariaDB copy failed: {_reason(exc)}") from None
        self._report(counters, progress)
        return counters

    @staticmethod
    def _report(counters: _Counters, progress: ProgressFn) -> None:
        with counters.lock:
            messages, counters.messages = counters.messages, []
        for message in messages:
            progress(message=message)
        progress(rows_done=counters.rows, bytes_done=counters.bytes, tables_done=counters.tables_done)

    # -- snapshot / restore / provisioning -----------------------------------------------------------
    def snapshot(self, target: Endpoint, sink: SnapshotSink, progress: ProgressFn, *,
                 options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        # The whole database, whatever the options: a copy drops target objects it does not carry over.
        return mariadb_dump.dump_to_s3(target, sink, progress)

    def restore(self, target: Endpoint, snapshot: Mapping[str, Any], progress: ProgressFn) -> None:
        conn = connect(target, side="target")
        try:
            cur = conn.cursor()
            cur.execute("SET SESSION foreign_key_checks=0")
            for name, kind in _target_objects(target, with_kind=True).items():
                cur.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} IF EXISTS {quote_name(name)}")
            cur.execute("SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA=%s",
                        (target.database,))
            for kind, name in cur.fetchall():
                cur.execute(f"DROP {kind} IF EXISTS {quote_name(name)}")
        finally:
            conn.close()
        mariadb_dump.load_from_s3(target, snapshot, progress)

    def provision(self, server: Endpoint, owner: StoreOwner) -> Endpoint:
        return mariadb_accounts.provision(server, owner)

    def deprovision(self, store: Endpoint, server: Endpoint, owner: str | None) -> None:
        mariadb_accounts.deprovision(store, server, owner)


def _version(conn) -> str:
    cur = conn.cursor()
    cur.execute("SELECT VERSION()")
    return cur.fetchone()[0]


def _put(q: queue.Queue, item: Any, stop: threading.Event) -> bool:
    """Put unless the copy is stopping (a dead writer must not leave readers blocked forever)."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.5)
            return True
        except queue.Full:
            continue
    return False


def _target_objects(target: Endpoint, *, with_kind: bool = False):
    conn = connect(target, side="target")
    try:
        cur = conn.cursor()
        cur.execute("SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s",
                    (target.database,))
        found = dict(cur.fetchall())
    finally:
        conn.close()
    return found if with_kind else list(found)
