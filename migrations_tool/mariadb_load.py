"""How copied rows travel to the target MariaDB: ``LOAD DATA LOCAL INFILE`` text, or extended INSERTs.

The source renders every row server-side, so Python only moves bytes. For LOAD DATA a row is one
line of tab-separated fields enclosed in single quotes with backslash escapes: exactly what
``QUOTE()`` produces (NULL comes out as the bare word NULL, which LOAD DATA reads as NULL when fields
are enclosed); binary and BIT values travel as hex and are decoded by a ``SET`` clause. The server
parses this with less work than the same rows as INSERT statements. Each writer hands its batch to
the server through an in-memory file (``memfd``), so nothing touches the disk.

INSERTs remain for tables whose rows are masked in Python and for servers that refuse LOCAL INFILE
(``local_infile=0``): the copy still works, only slower.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass

import pymysql

from .contracts import CopyError
from .mariadb_schema import Table, quote_name

_BIT = "bit"
_RETRYABLE = (1205, 1213)  # lock wait timeout, deadlock
_LOAD_OPTIONS = ("FIELDS TERMINATED BY '\\t' ENCLOSED BY '\\'' ESCAPED BY '\\\\' "
                 "LINES TERMINATED BY '\\n'")


@dataclass(frozen=True)
class RowFormat:
    """One table's rows on the wire: the SELECT expression rendering a row, and how rows join into a batch."""

    select: str
    head: bytes = b""
    separator: bytes = b"\n"
    tail: bytes = b"\n"
    load_into: str = ""  # "INTO TABLE … (columns) SET …" of a LOAD DATA; empty for INSERT batches

    def payload(self, rows: list[bytes]) -> bytes:
        return self.head + self.separator.join(rows) + self.tail

    @property
    def separator_sql(self) -> str:
        """The separator as an SQL string literal (for the server to join rows with GROUP_CONCAT)."""
        return "'" + self.separator.decode().replace("\n", "\\n") + "'"


def insert_format(table: Table, *, masked: bool) -> RowFormat:
    """Extended INSERT batches; a masked table selects plain columns (Python renders its rows)."""
    columns = ", ".join(quote_name(c.name) for c in table.columns)
    select = columns if masked else "CONCAT('(', " + ", ',', ".join(c.literal_sql() for c in table.columns) + ", ')')"
    return RowFormat(select=select, head=f"INSERT INTO {quote_name(table.name)} ({columns}) VALUES ".encode(),
                     separator=b",", tail=b"")


def load_format(table: Table) -> RowFormat:
    # Rows leave the source as bytes (no decoding in Python). When the table's character columns share
    # one character set, rows are rendered in it and the file is declared binary: the target stores
    # the bytes as they are, skipping a conversion of every field (a quarter of its LOAD DATA time).
    render = table.charset or "utf8mb4"
    fields, targets, assignments = [], [], []
    for i, column in enumerate(table.columns):
        q = quote_name(column.name)
        # Never NULL (CONCAT_WS would drop the field): NULL is spelled as the bare word.
        fields.append(f"IF({q} IS NULL, 'NULL', HEX({q}))" if column.travels_as_hex else column.literal_sql(render))
        if column.travels_as_hex:
            variable = f"@c{i}"
            targets.append(variable)
            decode = f"CAST(CONV({variable}, 16, 10) AS UNSIGNED)" if column.data_type == _BIT else f"UNHEX({variable})"
            assignments.append(f"{q} = {decode}")
        else:
            targets.append(q)
    into = (f"INTO TABLE {quote_name(table.name)} CHARACTER SET {'binary' if table.charset else 'utf8mb4'} "
            f"{_LOAD_OPTIONS} ({', '.join(targets)})" + (f" SET {', '.join(assignments)}" if assignments else ""))
    return RowFormat(select="CAST(CONCAT_WS('\\t', " + ", ".join(fields) + ") AS BINARY)", load_into=into)


def local_infile_allowed(conn) -> bool:
    """Whether the target server accepts LOAD DATA LOCAL (the connection must also have asked for it)."""
    cur = conn.cursor()
    cur.execute("SELECT @@local_infile")
    return bool(cur.fetchone()[0]) and conn.client_flag & pymysql.constants.CLIENT.LOCAL_FILES


class Spool:
    """One writer's way of sending batches: LOAD DATA LOCAL reads each from an in-memory file."""

    def __init__(self) -> None:
        if hasattr(os, "memfd_create"):
            self.fd = os.memfd_create("slipway-load", 0)
            self.path = f"/proc/self/fd/{self.fd}"
        else:  # not Linux: a private temporary file
            self.fd, self.path = tempfile.mkstemp(prefix="slipway-load-")

    def write(self, cursor, fmt: RowFormat, table: str, payload: bytes, *, attempts: int = 5) -> None:
        """Send one batch, again when InnoDB picks it as a deadlock victim (seen when parallel writers
        start on an empty table: MariaDB's bulk-insert mode locks the table). A victim's statement
        was rolled back whole (autocommit), so sending it again is safe."""
        for attempt in range(1, attempts + 1):
            try:
                if fmt.load_into:
                    self._load(cursor, fmt, table, payload)
                else:
                    cursor.execute(payload)
                return
            except pymysql.err.OperationalError as exc:
                if exc.args[0] not in _RETRYABLE or attempt == attempts:
                    raise
                time.sleep(0.05 * attempt)

    def _load(self, cursor, fmt: RowFormat, table: str, payload: bytes) -> None:
        os.ftruncate(self.fd, 0)
        view, offset = memoryview(payload), 0
        while offset < len(payload):
            offset += os.pwrite(self.fd, view[offset:], offset)
        cursor.connection.offered_local_file = self.path.encode()
        try:
            cursor.execute(f"LOAD DATA LOCAL INFILE '{self.path}' {fmt.load_into}")
        finally:
            cursor.connection.offered_local_file = None
        if cursor.warning_count:
            # LOCAL turns data errors into warnings; a copy must not silently truncate or skip rows.
            cursor.execute("SHOW WARNINGS LIMIT 3")
            detail = "; ".join(f"{message} (error {code})" for _, code, message in cursor.fetchall())
            raise CopyError(f"MariaDB copy failed: loading {table} on the target: {detail}")

    def close(self) -> None:
        os.close(self.fd)
        if not self.path.startswith("/proc/"):
            os.unlink(self.path)
