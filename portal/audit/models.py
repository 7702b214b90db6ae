"""The append-only audit trail: who did what to which object, when, from where, and how it ended."""

from __future__ import annotations

from django.db import models


class AppendOnlyError(Exception):
    """Raised by any attempt to change or remove an audit event."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit events are append-only")

    def delete(self):
        raise AppendOnlyError("audit events are append-only")


class AuditEvent(models.Model):
    SUCCESS = "success"
    FAILURE = "failure"
    OUTCOMES = [(SUCCESS, "Success"), (FAILURE, "Failure")]

    USER = "user"
    SYSTEM = "system"
    ACTOR_KINDS = [(USER, "User"), (SYSTEM, "System")]

    timestamp = models.DateTimeField(auto_now_add=True)
    # The actor is copied, not referenced: the trail must outlive users and never be rewritten
    # by an ON DELETE SET NULL.
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_name = models.CharField(max_length=150)
    actor_kind = models.CharField(max_length=10, choices=ACTOR_KINDS, default=USER)
    team_slug = models.CharField(max_length=63, blank=True, default="")
    action = models.CharField(max_length=100)
    object_type = models.CharField(max_length=100, blank=True, default="")
    object_id = models.CharField(max_length=64, blank=True, default="")
    object_repr = models.CharField(max_length=200, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=10, choices=OUTCOMES, default=SUCCESS)
    error = models.TextField(blank=True, default="")
    request_id = models.CharField(max_length=64, blank=True, default="")
    source_ip = models.GenericIPAddressField(null=True, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [
            models.Index(fields=["-timestamp", "-id"], name="audit_time_idx"),
            models.Index(fields=["actor_name", "-timestamp"], name="audit_actor_idx"),
            models.Index(fields=["action", "-timestamp"], name="audit_action_idx"),
            models.Index(fields=["team_slug", "-timestamp"], name="audit_team_idx"),
            models.Index(fields=["object_type", "object_id", "-timestamp"], name="audit_object_idx"),
            models.Index(fields=["request_id"], name="audit_request_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.timestamp:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events are append-only")
