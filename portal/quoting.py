"""Quoting user-supplied values in messages, bounded.

A message that echoes what the user sent (``got {value!r}``) is as large as the value: a YAML
alias bomb or a megabyte string turns a 400 into a response of hundreds of megabytes. Every
message that shows a user value goes through ``quoted`` or ``listed``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

VALUE_CHARS = 60
MESSAGE_CHARS = 1000


def shortened(text: str, limit: int = VALUE_CHARS) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when something was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quoted(value: Any, limit: int = VALUE_CHARS) -> str:
    """``repr(value)`` (strings in quotes, containers as written) cut to ``limit`` characters.

    Containers are never rendered whole: a nested list is shown by its type and length.
    """
    if isinstance(value, dict | list | tuple | set):
        return f"a {type(value).__name__} of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, str):
        return repr(shortened(value, limit))
    return shortened(repr(value), limit)


def listed(values: Iterable[Any], most: int = 10) -> str:
    """``a, b, c`` for at most ``most`` values (each cut), then ``and N more``."""
    items = [shortened(str(v), VALUE_CHARS) for v in values]
    shown = ", ".join(items[:most])
    return f"{shown} and {len(items) - most} more" if len(items) > most else shown


def sorted_keys(mapping: Iterable[Any]) -> list[str]:
    """Keys of a parsed mapping as sorted text (YAML keys may be numbers, dates or None beside strings)."""
    return sorted(str(k) for k in mapping)
