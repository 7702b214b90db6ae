"""The MariaDB copy benchmark's two yardsticks besides `mariadb-dump | mariadb` (see bench/copy_mariadb.py).

- ``mydumper_myloader``: the parallel tools a user would pick for a fast copy (Debian's `mydumper`
  package, installed by devstack/system-deps.sh), with the copier's thread count: the dump is written
  to a private directory, then loaded; the time of both counts.
- ``LoadLimit``: what the target server alone needs. Every table's rows are rendered by the source
  BEFORE the clock starts (the copier's own LOAD DATA format, one file per batch), so the timed part
  reads nothing: it creates the tables without their secondary and foreign keys, loads the files with
  the same number of writers and the same session settings and the copier's
  in-memory hand-over (``Spool``), and builds each table's keys when its last
  file is in (as the copier does). Slipway's time over this one is how close it gets to the server.
"""

from __future__ import annotations

import queue
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from migrations_tool.contracts import Endpoint
from migrations_tool.mariadb_connection import LocalFileConnection, connect
from migrations_tool.mariadb_load import Spool, load_format
from migrations_tool.mariadb_read import STATEMENT_BYTES, Plan, Task, read_batches
from migrations_tool.mariadb_schema import Table, quote_name, read_schema

CHUNK_ROWS = 5000  # the copier's default batch


def _defaults_file(directory: Path, server: dict) -> Path:
    """Connection settings in a private file (a password on the command line shows in `ps`)."""
    path = directory / "my.cnf"
    text = "".join(f"[{group}]\nhost={server['host']}\nport={server['port']}\nuser={server['user']}\n"
                   f"password={server['password']}\n" for group in ("mydumper", "myloader"))
    path.write_text(text)
    path.chmod(0o600)
    return path


def mydumper_myloader(server: dict, source: str, target: str, threads: int) -> float:
    """Seconds for `mydumper -t N` of ``source`` into a directory, then `myloader -t N` into ``target``."""
    work = Path(tempfile.mkdtemp(prefix="bench-mydumper-"))
    try:
        defaults = _defaults_file(work, server)
        dump = work / "dump"
        started = time.perf_counter()
        # --rows: tables split into chunks, so several threads dump (and load) one large table.
        subprocess.run(["mydumper", f"--defaults-file={defaults}", "-B", source, "-o", str(dump), "-t",
                        str(threads), "--rows", "100000", "-G", "-R", "-v", "1"], check=True)
        subprocess.run(["myloader", f"--defaults-file={defaults}", "-d", str(dump), "-s", source, "-B", target,
                        "-t", str(threads), "-o", "-v", "1"], check=True)
        return time.perf_counter() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)


class LoadLimit:
    """Pre-rendered LOAD DATA files of a source database, loaded into a target against the clock."""

    def __init__(self, server: dict, source: str) -> None:
        self.server = server
        self.work = Path(tempfile.mkdtemp(prefix="bench-limit-"))
        self.files: list[tuple[Table, Path]] = []
        conn = connect(self._endpoint(source), side="source")
        try:
            cur = conn.cursor()
            cur.execute("SET SESSION time_zone='+00:00', SESSION group_concat_max_len=%s", (STATEMENT_BYTES,))
            schema = read_schema(cur, source)
            self.tables = sorted(schema.tables.values(), key=lambda t: -t.rows_estimate)
            plan = Plan(self.tables, {}, [], {}, {}, None, False, {t.name: load_format(t) for t in self.tables})
            for table in self.tables:
                for n, (_, _, payload, _, _) in enumerate(read_batches(conn, Task(table), plan, CHUNK_ROWS)):
                    path = self.work / f"{table.name}.{n:06d}.tsv"
                    path.write_bytes(payload)
                    self.files.append((table, path))
        finally:
            conn.close()
        self.bytes = sum(path.stat().st_size for _, path in self.files)

    def _endpoint(self, database: str) -> Endpoint:
        return Endpoint(kind="mysql", host=self.server["host"], port=self.server["port"], user=self.server["user"],
                        password=self.server["password"], database=database)

    def load(self, target: str, writers: int) -> float:
        """Seconds to create the tables, load every file with ``writers`` connections and build the keys."""
        conns = [connect(self._endpoint(target), side="target", local_infile=True) for _ in range(writers)]
        try:
            for conn in conns:  # the copier's writer session
                conn.cursor().execute("SET SESSION foreign_key_checks=0, SESSION unique_checks=0, "
                                      "SESSION time_zone='+00:00', "
                                      "SESSION sql_mode='NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'")
            started = time.perf_counter()
            for table in self.tables:
                conns[0].cursor().execute(table.create_sql)
            pending = {t.name: 0 for t in self.tables}
            work: queue.Queue = queue.Queue()
            for table, path in self.files:
                pending[table.name] += 1
                work.put((table, path))
            lock = threading.Lock()
            with ThreadPoolExecutor(len(conns)) as pool:  # map() re-raises a writer's error here
                list(pool.map(lambda conn: self._writer(conn, work, pending, lock), conns))
            return time.perf_counter() - started
        finally:
            for conn in conns:
                conn.close()

    @staticmethod
    def _writer(conn: LocalFileConnection, work: queue.Queue, pending: dict[str, int], lock: threading.Lock) -> None:
        # The copier's way of handing a batch to LOAD DATA (an in-memory file; a deadlock victim sent again).
        cur, spool = conn.cursor(), Spool()
        try:
            while True:
                try:
                    table, path = work.get_nowait()
                except queue.Empty:
                    return
                spool.write(cur, load_format(table), table.name, path.read_bytes())
                with lock:
                    pending[table.name] -= 1
                    last = pending[table.name] == 0
                if last and table.deferred:
                    cur.execute(f"ALTER TABLE {quote_name(table.name)} " + ", ".join(table.deferred))
        finally:
            spool.close()

    def close(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)

