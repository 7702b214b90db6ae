"""The MariaDB/MySQL copier: consistent snapshot, schema then data in parallel, keys built last, verified.

Reading: every reader runs inside ``START TRANSACTION WITH CONSISTENT SNAPSHOT``. When the source user
may ``FLUSH TABLES WITH READ LOCK``, several readers open their snapshots under that lock (the same
point in time, as mydumper does); otherwise one reader feeds all writers. Rows leave the server
ready-made (``QUOTE``/``HEX`` computed server-side) as LOAD DATA text or INSERT literals (see
``mariadb_load``), so Python only moves bytes, except for tables with masked columns, which are
decoded, masked and re-encoded.

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
from dataclasses import dataclass
from typing import Any

import pymysql
from pymysql.converters import escape_item

from . import mariadb_accounts, mariadb_dump, mariadb_load
from .contracts import CopyError, CopyReport, Endpoint, ProgressFn, SnapshotSink
from .mariadb_checksum import table_digest as _digest
from .mariadb_connection import connect
from .mariadb_connection import reason as _reason
from .mariadb_load import RowFormat, Spool
from .mariadb_schema import Schema, Table, quote_name, read_schema
from .masking import Masker, Rule, parse_rules
from .row_filter import validate_filter

_STATEMENT_BYTES = 4 * 1024 * 1024
_DONE = object()


@dataclass
class _Plan:
    tables: list[Table]
    views: dict[str, str]
    replaced: list[str]  # target tables/views dropped before the copy
    filters: dict[str, str]
    rules: dict[str, dict[str, Rule]]
    masker: Masker | None
    verify: bool
    formats: dict[str, RowFormat]


@dataclass
class _Task:
    table: Table
    low: Any = None  # exclusive lower bound of the first primary-key column (None = from the start)
    high: Any = None  # inclusive upper bound (None = to the end)


class _Counters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows = 0
        self.bytes = 0
        self.tables_done = 0
        self.pending: dict[str, int] = {}

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
        readers = self._open_snapshot_readers(source, int(options.get("workers") or self.workers))
        writers: list[Any] = []
        try:
            schema = read_schema(readers[0].cursor(), source.database)
            writers = [self._writer(target) for _ in range(max(len(readers), int(options.get("workers")
                                                                                  or self.workers)))]
            plan = self._plan(schema, options, target, load=mariadb_load.local_infile_allowed(writers[0]))
            progress(tables_total=len(plan.tables), tables_done=0,
                     rows_total=sum(t.rows_estimate for t in plan.tables), rows_done=0, bytes_done=0,
                     message=f"copying {len(plan.tables)} table(s) with {len(readers)} reader(s) and "
                             f"{len(writers)} writer(s)")
            self._create(writers[0], target.database, schema, plan)
            counters = self._load(readers, writers, target.database, plan, progress)
            progress(message="building indexes and foreign keys")
            self._run_on(writers, [t for t in plan.tables if t.deferred],
                         lambda conn, t: conn.cursor().execute(
                             f"ALTER TABLE {quote_name(t.name)} " + ", ".join(t.deferred)))
            self._create_programs(writers[0], schema, plan)
            report = CopyReport(counters={"tables": len(plan.tables), "rows": counters.rows,
                                          "bytes": counters.bytes, "views": len(plan.views)})
            if plan.verify:
                progress(message="verifying row counts and checksums")
                report.verification = self._verify(readers, writers, plan)
                report.verified = all(v["ok"] for v in report.verification.values())
                if not report.verified:
                    bad = sorted(k for k, v in report.verification.items() if not v["ok"])
                    report.notes.append(f"verification failed for: {', '.join(bad)}")
            return report
        except pymysql.MySQLError as exc:
            raise CopyError(f"MariaDB copy failed: {_reason(exc)}") from None
        finally:
            for conn in readers + writers:
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
                cur.execute("SET SESSION time_zone='+00:00', SESSION group_concat_max_len=1048576")
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

    def _plan(self, schema: Schema, options: Mapping[str, Any], target: Endpoint, *, load: bool) -> _Plan:
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
            filters[name] = validate_filter(expression, [c.name for c in schema.tables[name].columns], table=name)
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
        return _Plan(tables, views, replaced, filters, rules, masker, bool(options.get("verify", True)), formats)

    def _create(self, conn, database: str, schema: Schema, plan: _Plan) -> None:
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

    def _create_programs(self, conn, schema: Schema, plan: _Plan) -> None:
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
    def _tasks(self, reader, plan: _Plan, parallel: int) -> list[_Task]:
        tasks = []
        cur = reader.cursor()
        for table in sorted(plan.tables, key=lambda t: -t.rows_estimate):
            if parallel > 1 and table.integer_pk and table.rows_estimate > self.chunk_rows * 4:
                pk = quote_name(table.primary_key[0])
                cur.execute(f"SELECT MIN({pk}), MAX({pk}) FROM {quote_name(table.name)}")
                low, high = cur.fetchone()
                if low is not None:
                    pieces = parallel * 2
                    step = max(1, (high - low + pieces) // pieces)
                    bounds = list(range(low - 1, high, step)) + [high]
                    tasks += [_Task(table, lo, hi) for lo, hi in itertools.pairwise(bounds)]
                    continue
            tasks.append(_Task(table))
        return tasks

    def _load(self, readers, writers, database: str, plan: _Plan, progress: ProgressFn) -> _Counters:
        counters = _Counters()
        tasks: queue.Queue = queue.Queue()
        for task in self._tasks(readers[0], plan, len(readers)):
            tasks.put(task)
            counters.pending[task.table.name] = counters.pending.get(task.table.name, 0) + 1
        batches: queue.Queue = queue.Queue(maxsize=len(writers) * 4)  # bounds memory
        errors: list[BaseException] = []
        stop = threading.Event()

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
                while not stop.is_set():
                    try:
                        task = tasks.get_nowait()
                    except queue.Empty:
                        return
                    for batch in self._read_task(conn, task, plan):
                        if not _put(batches, batch, stop):
                            return
                    _put(batches, (task.table.name, None, b"", 0, 0), stop)  # end of one task
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
                    if fmt is None:
                        with counters.lock:
                            counters.pending[name] -= 1
                            if counters.pending[name] == 0:
                                counters.tables_done += 1
                        continue
                    spool.write(cur, fmt, name, payload)
                    counters.add(rows, size)
            return body

        read_threads = [threading.Thread(target=guard(read(c)), daemon=True) for c in readers]
        write_threads = [threading.Thread(target=guard(write(c)), daemon=True) for c in writers]
        for thread in read_threads + write_threads:
            thread.start()
        while any(t.is_alive() for t in read_threads) and not stop.is_set():
            self._report(counters, progress)
            time.sleep(0.5)
        for _ in write_threads:
            _put(batches, _DONE, stop)
        while any(t.is_alive() for t in write_threads):
            self._report(counters, progress)
            time.sleep(0.2)
        if errors:
            # Readers stop at their next batch; let them finish before their connections close (a
            # streaming cursor collected after its connection closed raises in its finalizer).
            for thread in read_threads:
                thread.join(timeout=60)
            exc = errors[0]
            if isinstance(exc, CopyError):
                raise exc
            raise CopyError(f"MariaDB copy failed: {_reason(exc)}") from None
        self._report(counters, progress)
        return counters

    @staticmethod
    def _report(counters: _Counters, progress: ProgressFn) -> None:
        progress(rows_done=counters.rows, bytes_done=counters.bytes, tables_done=counters.tables_done)

    def _read_task(self, conn, task: _Task, plan: _Plan):
        """Yield (table, format, payload, rows, bytes) batches for one task, in primary-key order."""
        table = task.table
        rules = plan.rules.get(table.name, {})
        fmt = plan.formats[table.name]
        select = fmt.select
        pk = table.primary_key
        pk_count = len(pk)
        where = [f"({plan.filters[table.name]})"] if table.name in plan.filters else []
        if task.high is not None:
            where.append(f"{quote_name(pk[0])} <= {int(task.high)}")
        cur = conn.cursor() if pk else conn.cursor(pymysql.cursors.SSCursor)
        last: tuple | None = (task.low,) if task.low is not None else None
        while True:
            clauses, args = list(where), []
            if last is not None and pk:
                clause, args = _after(pk[:len(last)], last)
                clauses.append(clause)
            sql = f"SELECT {select}{''.join(', ' + quote_name(p) for p in pk)} FROM {quote_name(table.name)}"
            if clauses:
                sql += " WHERE " + " AND ".join(clauses)
            if pk:
                sql += " ORDER BY " + ", ".join(quote_name(p) for p in pk) + f" LIMIT {self.chunk_rows}"
            cur.execute(sql, args or None)
            while True:
                rows = cur.fetchmany(self.chunk_rows) if not pk else cur.fetchall()
                if not rows:
                    break
                if rules:
                    texts = [self._masked_row(row[:len(table.columns)], table, rules, plan.masker) for row in rows]
                else:
                    texts = [row[0] for row in rows]
                yield from _statements(table.name, fmt, texts)
                if pk:
                    last = tuple(rows[-1][-pk_count:])
                    break
            if not pk or not rows or len(rows) < self.chunk_rows:
                return

    @staticmethod
    def _masked_row(row, table: Table, rules: dict[str, Rule], masker: Masker) -> str:
        values = []
        for column, value in zip(table.columns, row, strict=True):
            rule = rules.get(column.name)
            if rule is not None:
                value = masker.apply(rule, value, column.max_length)
            values.append(escape_item(value, "utf8mb4"))
        return "(" + ",".join(values) + ")"

    # -- verification --------------------------------------------------------------------------------
    def _verify(self, readers, writers, plan: _Plan) -> dict[str, dict[str, Any]]:
        results: dict[str, dict[str, Any]] = {}
        jobs = [(side, t) for t in plan.tables for side in ("source", "target")]
        measured: dict[tuple[str, str], tuple[int, Any]] = {}

        def measure(conn, job) -> None:
            side, table = job
            measured[(side, table.name)] = _digest(conn, table, plan.rules.get(table.name, {}),
                                                   plan.filters.get(table.name) if side == "source" else None)

        self._run_on(readers, [j for j in jobs if j[0] == "source"], measure,
                     also=(writers, [j for j in jobs if j[0] == "target"]))
        for table in plan.tables:
            src_rows, src_sum = measured[("source", table.name)]
            dst_rows, dst_sum = measured[("target", table.name)]
            masked = sorted(plan.rules.get(table.name, {}))
            results[table.name] = {"source_rows": src_rows, "target_rows": dst_rows,
                                   "checksum": "equal" if src_sum == dst_sum else "different",
                                   "masked_columns": masked,
                                   "ok": src_rows == dst_rows and src_sum == dst_sum}
        return results

    @staticmethod
    def _run_on(connections, items, fn, also=None) -> None:
        """Run ``fn(connection, item)`` for every item, one thread per connection; re-raises the first error."""
        groups = [(connections, list(items))] + ([also] if also else [])
        errors: list[BaseException] = []
        threads = []
        for conns, work in groups:
            pending: queue.Queue = queue.Queue()
            for item in work:
                pending.put(item)

            def body(conn, pending=pending) -> None:
                while not errors:
                    try:
                        item = pending.get_nowait()
                    except queue.Empty:
                        return
                    try:
                        fn(conn, item)
                    except BaseException as exc:
                        errors.append(exc)

            threads += [threading.Thread(target=body, args=(c,), daemon=True) for c in conns]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

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

    def provision(self, server: Endpoint, name: str) -> Endpoint:
        return mariadb_accounts.provision(server, name)

    def deprovision(self, store: Endpoint, server: Endpoint) -> None:
        mariadb_accounts.deprovision(store, server)


def _after(columns: list[str], values: tuple) -> tuple[str, list[Any]]:
    """Keyset condition ``(a, b) > (x, y)`` written so the primary key's index serves it."""
    ors, args = [], []
    for i in range(len(columns)):
        ands = [f"{quote_name(c)} = %s" for c in columns[:i]] + [f"{quote_name(columns[i])} > %s"]
        ors.append("(" + " AND ".join(ands) + ")")
        args += list(values[:i]) + [values[i]]
    return "(" + " OR ".join(ors) + ")", args


def _statements(name: str, fmt: RowFormat, texts: list[str]):
    """Batches of rows of about _STATEMENT_BYTES: (table, format, payload, rows, bytes)."""
    chunk: list[bytes] = []
    size = 0
    for text in texts:
        data = text.encode() if isinstance(text, str) else text
        chunk.append(data)
        size += len(data) + 1
        if size >= _STATEMENT_BYTES:
            yield name, fmt, fmt.payload(chunk), len(chunk), size
            chunk, size = [], 0
    if chunk:
        yield name, fmt, fmt.payload(chunk), len(chunk), size


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
