"""Verification digest of one table, computed by the server itself (source inside its snapshot)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .mariadb_schema import Table, quote_name
from .masking import Rule


def table_digest(conn, table: Table, rules: Mapping[str, Rule], where: str | None) -> tuple[int, Any]:
    """Row count and order-independent sums of row checksums over the unmasked columns."""
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
    sql = f"SELECT COUNT(*), {digest} FROM {quote_name(table.name)}" + (f" WHERE ({where})" if where else "")
    cur = conn.cursor()
    cur.execute(sql)
    rows, total = cur.fetchone()
    return int(rows), str(total)
