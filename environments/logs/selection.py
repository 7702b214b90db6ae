"""What a viewer asked to see: components, pods, container and where to start (tail / since)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from environments.render.labels import NAME

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
MAX_TAIL_LINES = 100_000
MAX_SINCE_SECONDS = 30 * 24 * 3600


class SelectionError(ValueError):
    """The request names something invalid; the message is safe to show to the user."""


@dataclass(frozen=True)
class Selection:
    components: tuple[str, ...] = ()
    pods: tuple[str, ...] = ()
    container: str = ""
    tail_lines: int | None = 200
    since_seconds: int | None = None
    previous: bool = False

    def label_selector(self) -> str:
        """Pods of the chosen components (all pods of the namespace when none is chosen)."""
        if not self.components:
            return ""
        return f"{NAME} in ({','.join(self.components)})"

    def wants(self, pod_name: str) -> bool:
        return not self.pods or pod_name in self.pods

    def describe(self) -> dict:
        return {"components": list(self.components), "pods": list(self.pods), "container": self.container,
                "tail_lines": self.tail_lines, "since_seconds": self.since_seconds, "previous": self.previous}


def checked_names(values: list[str], what: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(v.strip() for raw in values for v in raw.split(",") if v.strip()))
    for name in names:
        if not _NAME.match(name):
            raise SelectionError(f"{what} {name[:80]!r} is not a valid Kubernetes name.")
    return names


def _bounded_int(value: str | None, what: str, upper: int) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except ValueError:
        raise SelectionError(f"{what} must be a whole number.") from None
    if not 0 <= number <= upper:
        raise SelectionError(f"{what} must be between 0 and {upper}.")
    return number


def parse_selection(query: Mapping[str, list[str]]) -> Selection:
    """Build a Selection from query parameters (``parse_qs`` shape). Raises SelectionError."""
    def one(key: str) -> str | None:
        values = query.get(key) or []
        return values[-1] if values else None

    container = (one("container") or "").strip()
    if container:
        checked_names([container], "Container")
    tail = one("tail")
    return Selection(
        components=checked_names(query.get("component", []), "Component"),
        pods=checked_names(query.get("pod", []), "Pod"),
        container=container,
        # "all" (or an empty value) means the whole log: no line-count cap unless asked for.
        tail_lines=None if tail in ("all", "") else (_bounded_int(tail, "tail", MAX_TAIL_LINES) if tail else 200),
        since_seconds=_bounded_int(one("since"), "since", MAX_SINCE_SECONDS),
        previous=(one("previous") or "").lower() in ("1", "true", "yes", "on"),
    )
