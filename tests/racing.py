"""Racing tests: start several calls at the same instant, each in its own thread and database connection,
and collect what each returned or raised — the shape every "exactly one wins" test shares."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run every call in its own thread, released together by a barrier; the result of each, in order,
    or the exception it raised (so a test can tell the winner from the refusals)."""
    barrier, outcomes = threading.Barrier(len(calls)), [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            outcomes[index] = call()
        except Exception as exc:  # the refusal is the finding, not a crash of the test
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes
