"""The sweeper's vocabulary: a Finding (one thing no live Slipway object owns), the finders' registry,
and how a marker tells whether a thing is this installation's.

Every finder module offers one ``OrphanKind`` per group of kinds it knows (``orphan_kinds.FINDERS`` lists
them): ``find`` lists what it sees (and
which scopes it could read, so what it could not read is never taken as gone), ``still_orphan`` re-checks
one thing just before removal, ``remove`` deletes it (idempotent: already gone is fine).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from portal.derived_names import instance_id

from ..cost.prices import HOURS_PER_MONTH
from ..models import Environment
from .models import Orphan


@dataclass(frozen=True)
class Finding:
    kind: str
    location: str
    name: str
    details: dict[str, Any] = field(default_factory=dict)
    monthly_cost: Decimal | None = None
    currency: str = "USD"


@dataclass
class Sweep:
    """One finder's result: what it found, the (kind, location) scopes it read completely, and the problems
    that kept it from reading others (logged; their open orphans stay as they are)."""

    findings: list[Finding] = field(default_factory=list)
    scopes: set[tuple[str, str]] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OrphanKind:
    kinds: tuple[str, ...]
    find: Callable[[Callable[[str], None]], Sweep]
    # The reason the thing is NOT an orphan any more (None: it still is); read just before removing.
    still_orphan: Callable[[Orphan], str | None]
    # Delete it; idempotent. Raises with a sentence when it cannot.
    remove: Callable[[Orphan], None]


def our_instance_ids() -> set[str]:
    """This installation's ids: today's, and any its environments were created under (a changed
    SLIPWAY_INSTANCE_ID or database address must not turn its own leftovers into someone else's)."""
    ids = {instance_id()}
    for marker in Environment.objects.exclude(owner_marker="").values_list("owner_marker", flat=True).distinct():
        ids.add(marker.split("/", 1)[0])
    return ids


def marked_environment(marker: str, ours: set[str]) -> int | None:
    """The environment id of an ownership marker ``<instance>/environment/<pk>`` of this installation, else None."""
    parts = marker.split("/")
    if len(parts) == 3 and parts[0] in ours and parts[1] == "environment" and parts[2].isdigit():
        return int(parts[2])
    return None


def live_environment_ids() -> set[int]:
    return set(Environment.objects.exclude(status=Environment.DESTROYED).values_list("pk", flat=True))


def monthly(hourly: Decimal) -> Decimal:
    return (hourly * HOURS_PER_MONTH).quantize(Decimal("0.000001"))
