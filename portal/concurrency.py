"""One thing at a time, held by the database: a unique (often partial) constraint decides which of two
concurrent requests wins; the loser gets the same clear refusal as a request that came second.

A check before the insert (``.exists()``) gives the usual answer early; only the constraint closes the
window between that check and the insert.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction


@contextmanager
def refused_when_taken(refusal: Callable[[], ValidationError | None]) -> Iterator[None]:
    """Run the block in a transaction (a savepoint inside the caller's); when it breaks a constraint,
    raise ``refusal()`` — called after the rollback, so it can look at the winner's committed row — or,
    when that returns None (another constraint broke), the IntegrityError itself."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        error = refusal()
        if error is None:
            raise
        raise error from exc
