"""Who is acting: a signed-in user or the system, with the request that carried the action.

Celery tasks receive an actor as a plain dict (``Actor.to_dict``) so the worker audits under the
same name and request id as the web request that enqueued it.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest

from portal.request_context import source_ip


@dataclass(frozen=True)
class Actor:
    name: str
    user_id: int | None = None
    kind: str = "user"
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    source_ip: str | None = None

    @classmethod
    def from_request(cls, request: HttpRequest, *, user: Any = None) -> Actor:
        """The signed-in user of ``request`` (or ``user`` when the request has none yet)."""
        user = user if user is not None else request.user
        return cls(name=user.get_username(), user_id=user.pk, kind="user",
                   request_id=getattr(request, "request_id", None) or uuid.uuid4().hex,
                   source_ip=source_ip(request))

    @classmethod
    def for_user(cls, user: Any, *, request_id: str | None = None) -> Actor:
        return cls(name=user.get_username(), user_id=user.pk, kind="user", request_id=request_id or uuid.uuid4().hex)

    @classmethod
    def system(cls, component: str, *, request_id: str | None = None) -> Actor:
        """The actor for actions the system takes on its own (TTL reaper, sweepers, beat)."""
        return cls(name=f"system:{component}", kind="system", request_id=request_id or uuid.uuid4().hex)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Actor:
        return cls(**data)

    @property
    def user(self):
        if self.user_id is None:
            return None
        return get_user_model().objects.filter(pk=self.user_id).first()
