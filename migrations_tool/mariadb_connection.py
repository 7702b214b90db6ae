"""The one place that opens connections to MariaDB/MySQL servers for data copies."""

from __future__ import annotations

from typing import Any

import pymysql
from pymysql.connections import Connection, MySQLResult
from pymysql.constants import ER
from pymysql.protocol import LoadLocalPacketWrapper

from .contracts import CopyError, Endpoint


class _OfferedFileOnly(MySQLResult):
    """A query result that answers a server's LOAD DATA LOCAL request only with the file Slipway
    offered for that statement. pymysql reads whatever file the server names, and the target server
    of a copy runs in an environment its users control: a rogue one would ask for the worker's
    ``/proc/self/environ`` (its secrets) in answer to any query, even ``SET NAMES``."""

    def _read_load_local_packet(self, first_packet) -> None:
        requested = LoadLocalPacketWrapper(first_packet).filename
        if requested != self.connection.offered_local_file:
            self.connection.write_packet(b"")  # an empty file keeps the protocol in step
            try:
                self.connection._read_packet()
            except pymysql.err.MySQLError:
                pass  # the server's answer to the empty file; the refusal below is what matters
            shown = requested[:80].decode("utf-8", "replace")
            raise pymysql.err.OperationalError(
                ER.FILE_NOT_FOUND, f"the server asked for the local file {shown!r}, which Slipway did not offer")
        super()._read_load_local_packet(first_packet)


class LocalFileConnection(Connection):
    """A connection for LOAD DATA LOCAL that sends only ``offered_local_file`` (set around the statement)."""

    offered_local_file: bytes | None = None

    def _read_query_result(self, unbuffered: bool = False) -> int:
        # pymysql 1.2's own method, with the guarded result class.
        self._result = None
        result = _OfferedFileOnly(self)
        if unbuffered:
            result.init_unbuffered_query()
        else:
            result.read()
        self._result = result
        if result.server_status is not None:
            self.server_status = result.server_status
        return result.affected_rows


def connect(endpoint: Endpoint, *, database: bool = True, side: str = "server", connect_timeout: int = 10,
            read_timeout: int = 3600, local_infile: bool = False, **kwargs: Any):
    """The one place that opens MariaDB connections; errors become CopyError without secrets. With
    ``local_infile`` the connection sends a local file only when it was offered for the statement."""
    opener = LocalFileConnection if local_infile else pymysql.connect
    try:
        return opener(local_infile=local_infile, host=endpoint.host, port=int(endpoint.port or 3306),
                      user=endpoint.user, password=str(endpoint.password or ""),
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
