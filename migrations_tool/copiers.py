"""The copier for each kind of store, imported by name so orchestration does not depend on every module."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings

from .contracts import Copier, CopyError

COPIERS = {
    "mysql": "migrations_tool.mariadb:MariaDBCopier",
    "redis": "migrations_tool.redis_copy:RedisCopier",
    "s3": "migrations_tool.s3_copy:S3Copier",
}


def copier_for(kind: str) -> Copier:
    """A copier instance for ``kind``; CopyError when that kind's copier is not installed."""
    path = COPIERS.get(kind)
    if path is None:
        raise CopyError(f"No copier for stores of kind {kind!r}.")
    module_name, _, class_name = path.partition(":")
    try:
        cls = getattr(import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise CopyError(f"The {kind} copier is not available in this installation ({exc}).") from None
    if kind == "mysql":
        return cls(workers=settings.SLIPWAY_DATA_COPY_WORKERS)
    return cls()


def available_kinds() -> list[str]:
    available = []
    for kind in COPIERS:
        try:
            copier_for(kind)
        except CopyError:
            continue
        available.append(kind)
    return available
