"""One owner of a model's ``status``: a table of allowed transitions and the one function that moves it.

As healthchecks records every status change through ``Check.create_flip``, a model whose status
has a lifecycle (an environment, a cluster) declares a ``StatusMachine`` and every writer calls its
``transition``. The move is a conditional UPDATE on a locked row, so two racing workers cannot both
move it from the same state; a move the table does not allow raises ``IllegalTransition`` and
changes nothing; every change is written to the audit trail and, inside a job, to the job's log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from portal.audit.actor import Actor
from portal.audit.services import audit_record
from portal.jobs.reporting import JobReporter
from portal.redaction import redact


class IllegalTransition(ValidationError):
    """The object's current status may not move to the one asked for; nothing was changed.

    A ValidationError, so a service that meets it (a destroy that won the race against a change)
    answers the person with the reason instead of a server error.
    """

    def __init__(self, obj: Any, current: str, to: str) -> None:
        super().__init__(f"{obj._meta.verbose_name} {obj} is {current}; it cannot become {to}.")
        self.current, self.to = current, to


@dataclass(frozen=True)
class StatusMachine:
    """``sources[to]`` lists the statuses an object may move to ``to`` from; a status absent from the
    keys is never entered by a transition (an initial status is set when the row is created)."""

    model: type[models.Model]
    sources: Mapping[str, frozenset[str]]
    # The audit action of a change, e.g. "environment.status_changed".
    action: str
    # The length of the message column.
    message_chars: int
    # The columns holding the status and the message that explains it (a data copy: ``state``, ``error``).
    status_field: str = "status"
    message_field: str = "status_message"

    def __post_init__(self) -> None:
        statuses = {value for value, _ in self.model._meta.get_field(self.status_field).choices}
        unknown = (set(self.sources) | set().union(*self.sources.values())) - statuses
        if unknown:
            raise ValueError(f"{self.model.__name__} has no status {', '.join(sorted(unknown))}")

    def transition(self, obj: models.Model, to: str, *, actor: Actor, message: str | None = "",
                   reporter: JobReporter | None = None, when: Mapping[str, Any] | None = None,
                   fields: Mapping[str, Any] | None = None) -> str | None:
        """Move ``obj``'s row to status ``to`` with ``message`` (redacted; None leaves the stored one), plus
        ``fields``, in one UPDATE.

        ``when`` narrows the row (e.g. ``{"current_revision": revision}``): when it no longer matches,
        nothing changes and None is returned. Otherwise returns the status the object left. Raises
        IllegalTransition, leaving the row as it was, when the table does not allow the move.
        A change of status is audited (``action``, with from/to/message) and logged to ``reporter``;
        staying in the same status (a re-run) only rewrites the message and fields.
        ``obj`` is updated in memory to match the row.
        """
        sources = self.sources.get(to, frozenset())
        changes: dict[str, Any] = {self.status_field: to, **(fields or {})}
        if message is not None:
            message = changes[self.message_field] = redact(message)[:self.message_chars]
        with transaction.atomic():
            rows = self.model.objects.filter(pk=obj.pk, **(when or {}))
            # The lock makes the check and the UPDATE one step: a racing worker waits, then sees our status.
            current = rows.select_for_update().values_list(self.status_field, flat=True).first()
            if current is None:
                return None
            if current not in sources:
                raise IllegalTransition(obj, current, to)
            rows.filter(**{f"{self.status_field}__in": sources}).update(**changes)
            if current != to:
                audit_record(actor=actor, action=self.action, obj=obj,
                             details={"from": current, "to": to, "message": message or ""})
        for name, value in changes.items():
            setattr(obj, name, value)
        if reporter is not None and current != to:
            reporter.log(f"status: {current} → {to}" + (f" ({message})" if message else ""))
        return current

    def unqueued(self, obj: models.Model, *, waiting: str, to: str, actor: Actor,
                 explain: bool = True, stamp: str = "") -> Callable[[str], None]:
        """``job_create(on_unqueued=...)`` for a job ``obj`` waits for in status ``waiting``: when the job's
        task cannot be queued, ``obj`` moves to ``to`` (failed, or the status it left when that is truer),
        with the reason as its message unless ``explain`` is False (the stored message is kept: the failed
        job carries the reason); ``stamp`` names a time column set to now (a run's ``finished_at``). Nothing
        changes when ``obj`` has left ``waiting`` meanwhile."""
        def leave(reason: str) -> None:
            self.transition(obj, to, actor=actor, message=reason if explain else None,
                            when={self.status_field: waiting}, fields={stamp: timezone.now()} if stamp else None)

        return leave
