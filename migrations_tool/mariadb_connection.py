"""The one place that opens connections to MariaDB/MySQL servers for data copies."""

from __future__ import annotations

from typing import Any

import pymysql

from .contracts import CopyError, Endpoint


def connect(endpoint: Endpoint, *, database: bool = True, side: str = "server", connect_timeout: int = 10,
            read_timeout: int = 3600, **kwargs: Any):
    """The one place that opens MariaDB connections; errors become CopyError without secrets."""
    try:
        return pymysql.connect(host=endpoint.host, port=int(endpoint.port or 3306), user=endpoint.user,
                               password=str(endpoint.password or ""),
                               database=endpoint.database if database else None, charset="utf8mb4",
                               connect_timeout=connect_timeout, read_timeout=read_timeout, write_timeout=3600,
                               autocommit=True, **kwargs)
    except pymysql.MySQLError as exc:
        raise CopyError(f"Cannot connect to the {side} MariaDB {endpoint.user}@{endpoint.host}:{endpoint.port}"
                        f"/{endpoint.database}: {reason(exc)}") from None


def reason(exc: BaseException) -> str:
    if isinstance(exc, pymysql.MySQLError) and len(exc.args) >= 2:
        return f"{exc.args[1]} (error {exc.args[0]})"
    return f"{type(exc).__name__}: {exc}"
