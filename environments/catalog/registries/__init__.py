"""Registry adapters: what tags a repository has, with digests, pushed-at and size.

One module per external system (``ecr``, ``v2``); ``by_kind.adapter_for`` picks it from the registry's kind.
This package module holds what they share (the error, the tag, the adapter protocol).
Every failure an operator can fix (unknown repository, unreachable registry, bad credentials) is a
``RegistryError`` whose message can be shown as is; it never contains the credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class RegistryError(Exception):
    """A registry refused or could not answer; the message is meant for the user."""


@dataclass(frozen=True)
class RegistryTag:
    tag: str
    digest: str
    pushed_at: datetime | None = None
    size_bytes: int | None = None


class RegistryAdapter(Protocol):
    def tags(self, repository: str, known: dict[str, tuple[datetime | None, int | None]] | None = None
             ) -> list[RegistryTag]:
        """Every tag of ``repository``; ``known`` maps digests already seen to (pushed_at, size), which
        adapters that must ask per image may reuse. Raises RegistryError."""
