"""Which adapter serves a registry: ``ecr`` or ``v2``, from the registry's kind, with its stored credentials.

A module of its own (not the package's ``__init__``) because the adapters import the package's shared
types, and this picks among the adapters.
"""

from __future__ import annotations

import json
from typing import Any

from . import RegistryAdapter, RegistryError, ecr, v2


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
    if registry.kind == "ecr":
        return ecr.EcrRegistry(name=registry.name, region=registry.region or None,
                               credentials=credentials_of(registry) or None)
    if registry.kind == "v2":
        return v2.V2Registry(name=registry.name, url=registry.url, credentials=credentials_of(registry))
    raise RegistryError(f"Registry '{registry.name}' has an unknown kind '{registry.kind}'.")
