"""Verification digest of one table, computed by the server itself (source inside its snapshot)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .mariadb_schema import Table, quote_name
from .masking import Rule
from .row_filter import RowFilter


def table_digest(conn, table: Table, rules: Mapping[str, Rule], where: RowFilter | None, *,
                 same_server_version: bool = False, count: bool = True) -> tuple[int | None, Any]:
    """Row count and order-independent sums of row checksums over the unmasked columns.

    ``count=False`` leaves the count out (None) where it would cost a scan of its own: the source side,
    whose rows the copier has just counted while reading them inside the same snapshot."""
    cur = conn.cursor()
    if same_server_version and where is None and all(r.kind == "keep" for r in rules.values()):
        # Every row whole on both sides: the server's own CHECKSUM TABLE (a sum of row CRCs, read
        # inside the snapshot) costs a third of the expression below. Its value depends on the
        # server's version, hence only between servers of the same one.
        rows = None
        if count:
            cur.execute(f"SELECT COUNT(*) FROM {quote_name(table.name)}")
            rows = int(cur.fetchone()[0])
        cur.execute(f"CHECKSUM TABLE {quote_name(table.name)}")
        return rows, f"table:{cur.fetchone()[1]}"
    columns = [c for c in table.columns if c.name not in rules or rules[c.name].kind == "keep"]
    if columns:
        parts = ", ".join(c.digest_sql() for c in columns)
        nulls = ", ".join(f"ISNULL({quote_name(c.name)})" for c in columns)
        # Two different 32-bit CRCs of each row, summed (order-independent, duplicates counted): much
        # cheaper than a cryptographic hash on both servers, and 64 bits of signal per table.
        row = f"CONCAT_WS('|', {parts}, CONCAT({nulls}))"
        digest = f"CONCAT(IFNULL(SUM(CRC32({row})), 0), '-', IFNULL(SUM(CRC32C({row})), 0))"
    else:
        digest = "0"
    sql = f"SELECT COUNT(*), {digest} FROM {quote_name(table.name)}"
    if where is not None:
        sql += f" WHERE ({where.sql(conn.escape)})"
    cur.execute(sql)
    rows, total = cur.fetchone()
    return int(rows), str(total)
