"""Reading a MariaDB schema for a copy: tables, columns, keys, views, triggers and routines.

Secondary keys and foreign keys are split off the ``CREATE TABLE`` so data loads into bare tables
and the keys are built once afterwards (much cheaper than maintaining them row by row).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import pymysql

from .contracts import CopyError, Endpoint
from .mariadb_connection import connect

_DEFINER = re.compile(r"\s+DEFINER\s*=\s*(`[^`]*`|'[^']*'|\S+)@(`[^`]*`|'[^']*'|\S+)", re.IGNORECASE)
_DEFERRABLE = re.compile(r"^\s*(UNIQUE KEY|KEY|FULLTEXT KEY|SPATIAL KEY|CONSTRAINT\s+`[^`]+`\s+FOREIGN KEY)\b")
_NUMERIC = frozenset("tinyint smallint mediumint int bigint decimal float double year".split())
_BINARY = frozenset("binary varbinary tinyblob blob mediumblob longblob geometry point linestring polygon "
                    "multipoint multilinestring multipolygon geometrycollection".split())
_WIDE_CHARSETS = frozenset({"ucs2", "utf16", "utf16le", "utf32"})


def quote_name(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def strip_definer(ddl: str) -> str:
    """The target's user differs from the source's: objects are created by (and run as) the target user."""
    return _DEFINER.sub("", ddl, count=1)


@dataclass
class Column:
    name: str
    data_type: str
    max_length: int | None
    auto_increment: bool
    charset: str | None = None  # of a character column; None for numbers, dates and binary

    def literal_sql(self, charset: str = "utf8mb4") -> str:
        """A server-side expression rendering the value as an SQL literal (NULL stays NULL), text in
        ``charset``."""
        q = quote_name(self.name)
        if self.data_type in _NUMERIC:
            return f"IFNULL({q},'NULL')"
        if self.data_type == "bit":
            return f"IF({q} IS NULL,'NULL',CONCAT('b''',BIN({q}),''''))"
        if self.data_type in _BINARY:
            return f"IF({q} IS NULL,'NULL',CONCAT('X''',HEX({q}),''''))"
        # One collation for every piece, or CONCAT refuses to mix the columns' collations.
        return f"CONVERT(QUOTE({q}) USING {charset})"

    @property
    def travels_as_hex(self) -> bool:
        # Also text in a character set where LOAD DATA does not recognise the bare word NULL (seen with
        # utf16: NULL arrived as the text 'NULL').
        return self.data_type in _BINARY or self.data_type == "bit" or self.charset in _WIDE_CHARSETS

    def digest_sql(self) -> str:
        q = quote_name(self.name)
        if self.data_type in _BINARY or self.data_type == "bit":
            return f"HEX({q})"
        return q


@dataclass
class Table:
    name: str
    columns: list[Column]
    primary_key: list[str]
    create_sql: str = ""  # without deferred keys
    deferred: list[str] = field(default_factory=list)  # "ADD KEY ..." / "ADD CONSTRAINT ..." clauses
    rows_estimate: int = 0
    integer_pk: bool = False  # the primary key's first column is an integer: rows can be read in id ranges
    bytes_estimate: int = 0  # data and indexes on the server: what reading, loading and key building cost

    @property
    def charset(self) -> str | None:
        """The one character set its character columns rendered as text are stored in (utf8mb4 when it
        has none); None when they mix several."""
        found = {c.charset for c in self.columns if c.charset and not c.travels_as_hex}
        return None if len(found) > 1 else found.pop() if found else "utf8mb4"


@dataclass
class Schema:
    tables: dict[str, Table]
    views: dict[str, str]  # name -> CREATE VIEW
    triggers: dict[str, tuple[str, str]]  # name -> (table, CREATE TRIGGER)
    routines: dict[str, str]  # "PROCEDURE name" -> CREATE ...


def split_create_table(ddl: str, columns: list[Column]) -> tuple[str, list[str]]:
    """CREATE TABLE without secondary/foreign keys, and the ALTER clauses that add them back."""
    head, _, rest = ddl.partition("(\n")
    body, _, tail = rest.rpartition("\n)")
    auto = {c.name for c in columns if c.auto_increment}
    kept, deferred = [], []
    for line in body.split("\n"):
        item = line.strip().rstrip(",")
        names = set(re.findall(r"`((?:[^`]|``)+)`", item.partition("(")[2]))
        # An AUTO_INCREMENT column must always be indexed, so its key cannot wait.
        if _DEFERRABLE.match(line) and not (names & auto):
            deferred.append("ADD " + item)
        else:
            kept.append("  " + item)
    return head + "(\n" + ",\n".join(kept) + "\n)" + tail, deferred


def read_schema(cur, database: str) -> Schema:
    """Everything a copy needs to recreate the database's objects, read through cursor ``cur``."""
    cur.execute("SELECT TABLE_NAME, TABLE_TYPE, IFNULL(TABLE_ROWS,0), "
                "IFNULL(DATA_LENGTH,0) + IFNULL(INDEX_LENGTH,0) FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA=%s ORDER BY TABLE_NAME", (database,))
    listing = cur.fetchall()
    cur.execute("SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, EXTRA, CHARACTER_SET_NAME "
                "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=%s ORDER BY TABLE_NAME, ORDINAL_POSITION",
                (database,))
    columns: dict[str, list[Column]] = {}
    for table, name, data_type, max_length, extra, charset in cur.fetchall():
        columns.setdefault(table, []).append(Column(name, data_type.lower(), max_length,
                                                    "auto_increment" in (extra or "").lower(), charset))
    cur.execute("SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
                "WHERE TABLE_SCHEMA=%s AND CONSTRAINT_NAME='PRIMARY' ORDER BY TABLE_NAME, ORDINAL_POSITION",
                (database,))
    primary: dict[str, list[str]] = {}
    for table, column in cur.fetchall():
        primary.setdefault(table, []).append(column)
    tables, views = {}, {}
    for name, kind, rows, size in listing:
        if kind == "VIEW":
            cur.execute(f"SHOW CREATE VIEW {quote_name(database)}.{quote_name(name)}")
            views[name] = strip_definer(cur.fetchone()[1])
            continue
        cur.execute(f"SHOW CREATE TABLE {quote_name(database)}.{quote_name(name)}")
        cols = columns.get(name, [])
        create, deferred = split_create_table(cur.fetchone()[1], cols)
        pk = primary.get(name, [])
        by_name = {c.name: c for c in cols}
        integer_pk = bool(pk) and by_name[pk[0]].data_type in {"tinyint", "smallint", "mediumint", "int",
                                                                    "bigint"}
        tables[name] = Table(name, cols, pk, create, deferred, int(rows), integer_pk, int(size))
    cur.execute("SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS "
                "WHERE TRIGGER_SCHEMA=%s ORDER BY ACTION_ORDER", (database,))
    triggers = {}
    for name, table in cur.fetchall():
        cur.execute(f"SHOW CREATE TRIGGER {quote_name(database)}.{quote_name(name)}")
        triggers[name] = (table, strip_definer(cur.fetchone()[2]))
    cur.execute("SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA=%s",
                (database,))
    routines = {}
    for kind, name in cur.fetchall():
        cur.execute(f"SHOW CREATE {kind} {quote_name(database)}.{quote_name(name)}")
        routines[f"{kind} {name}"] = strip_definer(cur.fetchone()[2])
    return Schema(tables, views, triggers, routines)


def table_columns(endpoint: Endpoint, tables: Iterable[str], *, timeout: int = 3) -> dict[str, list[str]] | None:
    """The columns of those of ``tables`` that exist in the endpoint's database, in order; None when the
    server cannot be asked within ``timeout`` seconds (a request must not wait on it: the copy's
    worker reads the schema anyway)."""
    wanted = list(tables)
    try:
        conn = connect(endpoint, side="source", connect_timeout=timeout, read_timeout=timeout)
    except CopyError:
        return None
    try:
        cur = conn.cursor()
        cur.execute("SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=%s "
                    "AND TABLE_NAME IN %s ORDER BY TABLE_NAME, ORDINAL_POSITION", (endpoint.database, wanted or [""]))
        found: dict[str, list[str]] = {}
        for table, column in cur.fetchall():
            found.setdefault(table, []).append(column)
        return found
    except pymysql.MySQLError:
        return None
    finally:
        conn.close()
