"""A database and a user per environment on a shared MariaDB server (and their removal).

Names come from ``portal.derived_names`` (a readable head + a suffix of the owner's identity, within
the 32 characters a user name may have), so two environments never share a database or a user.
Ownership is recorded on the server itself, in ``slipway_registry.owners`` (database name -> owner
marker), which only the shared server's admin account can write: environment users are granted
their own database only, so they cannot forge or erase it. Before creating, re-keying or dropping a
database, the registry must name this owner; a database or user that exists without a registry row
was not made by Slipway and is never taken over or dropped.
"""

from __future__ import annotations

import secrets

import pymysql

from portal.derived_names import MARIADB, bounded_name
from portal.redaction import hold

from .contracts import CopyError, Endpoint, StoreOwner
from .mariadb_connection import connect, reason
from .mariadb_schema import quote_name

REGISTRY = "slipway_registry.owners"


def database_name(owner: StoreOwner) -> str:
    """The database (and user) name of ``owner``'s store: ``slw_<name head>_<suffix>``, ≤ 32 characters."""
    return bounded_name(owner.readable, owner.marker, MARIADB)


def provision(server: Endpoint, owner: StoreOwner) -> Endpoint:
    """Create (or re-key) the environment's database and user; idempotent. Returns its own endpoint.
    Raises CopyError, before changing anything, when the name is held by anyone but ``owner``."""
    database = user = database_name(owner)
    password = secrets.token_urlsafe(24)
    hold(password)  # masked in the job's output from now, before it is stored encrypted
    conn = connect(server, database=False, side="shared")
    try:
        cur = conn.cursor()
        _ensure_registry(cur)
        _claim(cur, database, owner.marker)
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


def deprovision(store: Endpoint, server: Endpoint, owner: str | None) -> None:
    """Drop the environment's database and user; idempotent (missing is fine). Raises CopyError, and
    drops nothing, unless the registry names ``owner`` (``None``: a store made before the registry)."""
    conn = connect(server, database=False, side="shared")
    try:
        cur = conn.cursor()
        _ensure_registry(cur)
        if owner is not None:
            holder = _holder(cur, store.database)
            if holder is None and not _exists(cur, store.database, store.user):
                return  # already removed
            if holder != owner:
                raise CopyError(_refusal(store.database, holder, "remove"))
        cur.execute(f"DROP DATABASE IF EXISTS {quote_name(store.database)}")
        if store.user and store.user != server.user:
            cur.execute("DROP USER IF EXISTS %s@'%%'", (store.user,))
        if owner is not None:
            cur.execute(f"DELETE FROM {REGISTRY} WHERE name = %s AND owner = %s", (store.database, owner))
    except pymysql.MySQLError as exc:
        raise CopyError(f"Cannot remove database {store.database}: {reason(exc)}") from None
    finally:
        conn.close()


def _ensure_registry(cur) -> None:
    cur.execute("CREATE DATABASE IF NOT EXISTS slipway_registry CHARACTER SET utf8mb4")
    cur.execute(f"CREATE TABLE IF NOT EXISTS {REGISTRY} "
                "(name VARCHAR(64) NOT NULL PRIMARY KEY, owner VARCHAR(200) NOT NULL)")


def _holder(cur, name: str) -> str | None:
    cur.execute(f"SELECT owner FROM {REGISTRY} WHERE name = %s", (name,))
    row = cur.fetchone()
    return row[0] if row else None


def _exists(cur, database: str, user: str) -> bool:
    cur.execute("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (database,))
    if cur.fetchone():
        return True
    cur.execute("SELECT 1 FROM mysql.user WHERE User = %s", (user,))
    return cur.fetchone() is not None


def _claim(cur, name: str, marker: str) -> None:
    """Record ``marker`` as the owner of ``name`` (the primary key settles a race), or raise CopyError."""
    holder = _holder(cur, name)
    if holder is None:
        if _exists(cur, name, name):
            raise CopyError(_refusal(name, None, "take over"))
        try:
            cur.execute(f"INSERT INTO {REGISTRY} (name, owner) VALUES (%s, %s)", (name, marker))
            return
        except pymysql.IntegrityError:
            holder = _holder(cur, name)
    if holder != marker:
        raise CopyError(_refusal(name, holder, "take over"))


def _refusal(name: str, holder: str | None, verb: str) -> str:
    if holder is None:
        return (f"Database or user {name} exists on the shared MariaDB without Slipway's ownership marker "
                f"(no row in {REGISTRY}); Slipway will not {verb} what it did not create.")
    return (f"Database {name} on the shared MariaDB belongs to {holder} (ownership marker in {REGISTRY}); "
            f"Slipway will not {verb} another owner's database.")
