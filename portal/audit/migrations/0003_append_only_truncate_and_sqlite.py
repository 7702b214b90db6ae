"""The database refuses to rewrite the audit trail on every backend Slipway runs on.

PostgreSQL: 0001's row trigger stops UPDATE and DELETE, but TRUNCATE fires no row trigger, so a
statement trigger stops it too. SQLite (`make run`): it had no trigger at all; it has no TRUNCATE
(``DELETE FROM`` without WHERE is a DELETE and hits the row trigger).
"""

from django.db import migrations

POSTGRES_SQL = """
CREATE OR REPLACE FUNCTION audit_auditevent_no_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (TRUNCATE rejected)'
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_auditevent_no_truncate
    BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_auditevent_no_truncate();
"""
POSTGRES_DROP_SQL = """
DROP TRIGGER IF EXISTS audit_auditevent_no_truncate ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_auditevent_no_truncate();
"""
SQLITE_SQL = [
    """CREATE TRIGGER IF NOT EXISTS audit_auditevent_no_update BEFORE UPDATE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only (UPDATE rejected)'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_auditevent_no_delete BEFORE DELETE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only (DELETE rejected)'); END""",
]
SQLITE_DROP_SQL = ["DROP TRIGGER IF EXISTS audit_auditevent_no_update",
                   "DROP TRIGGER IF EXISTS audit_auditevent_no_delete"]


def add_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_SQL, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_SQL:
            schema_editor.execute(statement, params=None)


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP_SQL, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_DROP_SQL:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_alter_auditevent_managers")]

    operations = [migrations.RunPython(add_triggers, drop_triggers)]
