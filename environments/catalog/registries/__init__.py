"""Registry adapters: what tags a repository has, with digests, pushed-at and size.

One module per external system (``ecr``, ``v2``); ``adapter_for`` picks it from the registry's kind.
Every failure an operator can fix (unknown repository, unreachable registry, bad credentials) is a
``RegistryError`` whose message can be shown as is; it never contains the credentials.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


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


def credentials_of(registry: Any) -> dict[str, str]:
    """The registry's stored credentials as a mapping (empty when none are set)."""
    if not registry.credentials:
        return {}
    try:
        value = json.loads(str(registry.credentials))
    except ValueError as exc:
        raise RegistryError(f"The stored credentials of registry '{registry.name}' are not readable; "
                            "set them again.") from exc
    return {k: str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def adapter_for(registry: Any) -> RegistryAdapter:
    from . import ecr, v2

    if registry.kind == "ecr":
        return ecr.EcrRegistry(name=registry.name, region=registry.region or None,
                               credentials=credentials_of(registry) or None)
    if registry.kind == "v2":
        return v2.V2Registry(name=registry.name, url=registry.url, credentials=credentials_of(registry))
    raise RegistryError(f"Registry '{registry.name}' has an unknown kind '{registry.kind}'.")
