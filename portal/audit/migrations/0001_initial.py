from django.db import migrations, models

import portal.audit.models

# On PostgreSQL the database itself refuses to rewrite history, whatever code runs.
TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION audit_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (% rejected)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_auditevent_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_auditevent_append_only();
"""
DROP_TRIGGER_SQL = """
DROP TRIGGER IF EXISTS audit_auditevent_no_update_delete ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_auditevent_append_only();
"""


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_SQL, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGER_SQL, params=None)


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="AuditEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("timestamp", models.DateTimeField(auto_now_add=True)),
                ("actor_id", models.BigIntegerField(blank=True, null=True)),
                ("actor_name", models.CharField(max_length=150)),
                ("actor_kind", models.CharField(choices=[("user", "User"), ("system", "System")], default="user", max_length=10)),
                ("team_slug", models.CharField(blank=True, default="", max_length=63)),
                ("action", models.CharField(max_length=100)),
                ("object_type", models.CharField(blank=True, default="", max_length=100)),
                ("object_id", models.CharField(blank=True, default="", max_length=64)),
                ("object_repr", models.CharField(blank=True, default="", max_length=200)),
                ("details", models.JSONField(blank=True, default=dict)),
                ("outcome", models.CharField(choices=[("success", "Success"), ("failure", "Failure")], default="success", max_length=10)),
                ("error", models.TextField(blank=True, default="")),
                ("request_id", models.CharField(blank=True, default="", max_length=64)),
                ("source_ip", models.GenericIPAddressField(blank=True, null=True)),
            ],
            options={
                "ordering": ["-timestamp", "-id"],
                "indexes": [
                    models.Index(fields=["-timestamp", "-id"], name="audit_time_idx"),
                    models.Index(fields=["actor_name", "-timestamp"], name="audit_actor_idx"),
                    models.Index(fields=["action", "-timestamp"], name="audit_action_idx"),
                    models.Index(fields=["team_slug", "-timestamp"], name="audit_team_idx"),
                    models.Index(fields=["object_type", "object_id", "-timestamp"], name="audit_object_idx"),
                    models.Index(fields=["request_id"], name="audit_request_idx"),
                ],
            },
            managers=[("objects", portal.audit.models.AuditEventQuerySet.as_manager())],
        ),
        migrations.RunPython(add_trigger, drop_trigger),
    ]
