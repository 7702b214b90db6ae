"""A database and a user per environment on a shared MariaDB server (and their removal)."""

from __future__ import annotations

import secrets

import pymysql

from portal.redaction import hold

from .contracts import CopyError, Endpoint
from .mariadb_connection import connect, reason
from .mariadb_schema import quote_name


def _identifier(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() else "_" for ch in name.lower())
    return cleaned[:32].strip("_") or "slipway"


def provision(server: Endpoint, name: str) -> Endpoint:
    """Create (or re-key) the environment's database and user; idempotent. Returns its own endpoint."""
    database = user = _identifier(name)
    password = secrets.token_urlsafe(24)
    hold(password)  # masked in the job's output from now, before it is stored encrypted
    conn = connect(server, database=False, side="shared")
    try:
        cur = conn.cursor()
        cur.execute(f"CREATE DATABASE IF NOT EXISTS {quote_name(database)} CHARACTER SET utf8mb4")
        cur.execute("CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s", (user, password))
        cur.execute("ALTER USER %s@'%%' IDENTIFIED BY %s", (user, password))
        cur.execute(f"GRANT ALL PRIVILEGES ON {quote_name(database)}.* TO %s@'%%'", (user,))
    except pymysql.MySQLError as exc:
        raise CopyError(f"Cannot provision database {database}: {reason(exc)}") from None
    finally:
        conn.close()
    return Endpoint(kind="mysql", host=server.host, port=server.port, user=user, password=password,
                    database=database)


def deprovision(store: Endpoint, server: Endpoint) -> None:
    """Drop the environment's database and user; idempotent (missing is fine)."""
    conn = connect(server, database=False, side="shared")
    try:
        cur = conn.cursor()
        cur.execute(f"DROP DATABASE IF EXISTS {quote_name(store.database)}")
        if store.user and store.user != server.user:
            cur.execute("DROP USER IF EXISTS %s@'%%'", (store.user,))
    except pymysql.MySQLError as exc:
        raise CopyError(f"Cannot remove database {store.database}: {reason(exc)}") from None
    finally:
        conn.close()
