"""List-then-watch one kind of object in a background thread, as an informer does, and survive the server.

The thread lists the objects (that list is the known state), then watches from the list's
resourceVersion, so no change between the list and the watch is missed. When the server closes the
watch (its timeout, a restart), it watches again from the last resourceVersion seen; when that
version is too old (410 Gone) or the connection fails, it lists again and hands the caller the
whole new state. Every event carries the time it was received, from ``ReceivedClock``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from kubernetes import watch
from kubernetes.client.rest import ApiException
from urllib3.exceptions import HTTPError

# (kind, event type "ADDED"/"MODIFIED"/"DELETED", object, received at)
EventHandler = Callable[[str, str, Any, datetime], None]
# (kind, every object now, received at): the initial list and each re-list replace the known state
SyncHandler = Callable[[str, list[Any], datetime], None]
ProblemHandler = Callable[[str, str, datetime], None]  # (kind, what went wrong, at)


class ReceivedClock:
    """UTC wall-clock times that never go backwards: one wall reading, then the monotonic clock.

    A step of the system clock during an experiment cannot reorder events or make a recovery
    negative.
    """

    def __init__(self) -> None:
        self._wall, self._mono = datetime.now(UTC), time.monotonic()

    def now(self) -> datetime:
        return self._wall + timedelta(seconds=time.monotonic() - self._mono)


class ListWatch(threading.Thread):
    """One kind in one namespace, listed then watched until ``stop()``; calls back from its own thread.

    ``list_func`` is a namespaced list method of the generated client (``list_namespaced_pod``...).
    ``watch_seconds`` is the server-side timeout of each watch request: the server closes the watch
    then and the thread re-watches, which is normal operation, not an error. ``synced`` is set once
    the first list has been handed to ``on_sync``.
    """

    def __init__(self, kind: str, list_func: Callable[..., Any], namespace: str, *, selector: str,
                 clock: ReceivedClock, on_sync: SyncHandler, on_event: EventHandler,
                 on_problem: ProblemHandler, watch_seconds: int = 60) -> None:
        super().__init__(name=f"list-watch-{kind}-{namespace}", daemon=True)
        self.kind, self.list_func, self.namespace, self.selector = kind, list_func, namespace, selector
        self.clock, self.on_sync, self.on_event, self.on_problem = clock, on_sync, on_event, on_problem
        self.watch_seconds = max(1, int(watch_seconds))
        self.synced = threading.Event()
        self.rewatches = 0  # how many times the server closed a watch and this thread resumed it
        self.relists = 0  # how many times the state was listed again (410 Gone, connection failure)
        self._stopping = threading.Event()
        self._watch = watch.Watch()

    def stop(self) -> None:
        """Ask the thread to end; unblocks a watch waiting for the next event. Idempotent."""
        self._stopping.set()
        self._watch.stop()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                version = self._list()
                self._follow(version)
            except ApiException as exc:
                if self._stopping.is_set():
                    return
                if exc.status != 410:
                    self.on_problem(self.kind, f"watch failed ({exc.status} {exc.reason}); listing again",
                                    self.clock.now())
                    self._stopping.wait(0.5)
                self.relists += 1
            except (HTTPError, OSError, ValueError) as exc:  # ValueError: a read on a socket stop() shut
                if self._stopping.is_set():
                    return
                self.on_problem(self.kind, f"connection lost ({exc.__class__.__name__}); listing again",
                                self.clock.now())
                self._stopping.wait(0.5)
                self.relists += 1

    def _list(self) -> str:
        listing = self.list_func(self.namespace, label_selector=self.selector)
        self.on_sync(self.kind, list(listing.items), self.clock.now())
        self.synced.set()
        return listing.metadata.resource_version

    def _follow(self, version: str) -> None:
        """Watch from ``version``, resuming each time the server closes the watch; 410 escapes."""
        while not self._stopping.is_set():
            for event in self._watch.stream(self.list_func, self.namespace, label_selector=self.selector,
                                            resource_version=version, timeout_seconds=self.watch_seconds,
                                            allow_watch_bookmarks=True):
                at = self.clock.now()
                version = self._watch.resource_version or version
                if event["type"] in ("ADDED", "MODIFIED", "DELETED"):
                    self.on_event(self.kind, event["type"], event["object"], at)
                if self._stopping.is_set():
                    return
            self.rewatches += 1
