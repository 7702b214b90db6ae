"""A moto server whose state survives a restart: ``python -m devstack.moto_persistent --port P --state FILE``.

moto keeps everything in memory, so the embedded default (`make run`) lost its Terraform state and
its environments' S3 data on every restart. This server loads a pickled snapshot of moto's backends
on start and writes one again shortly after each change (at most every ``--interval`` seconds) and
on SIGTERM/SIGINT. Requests share a lock that the snapshot takes exclusively, so a snapshot never
sees a request half-applied. A snapshot is written to a temporary file and renamed over the old
one: a crash leaves the previous snapshot, never a torn one (and Slipway's Terraform state guard
notices a state that went backwards).
"""

from __future__ import annotations

import argparse
import copyreg
import logging
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

SNAPSHOT_FORMAT = 1
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SharedExclusiveLock:
    """Many requests at once, or one snapshot alone."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._shared = 0
        self._exclusive = False

    def acquire_shared(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: not self._exclusive)
            self._shared += 1

    def release_shared(self) -> None:
        with self._cond:
            self._shared -= 1
            self._cond.notify_all()

    def acquire_exclusive(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: not self._exclusive)
            self._exclusive = True
            self._cond.wait_for(lambda: self._shared == 0)

    def release_exclusive(self) -> None:
        with self._cond:
            self._exclusive = False
            self._cond.notify_all()


def _keep_s3_versions() -> None:
    """Pickle every version of an S3 key, not only the latest.

    moto's key store is a dict subclass whose ``items()`` yields the newest version only, so the
    default pickling of a versioned bucket drops its history (and with it Terraform's earlier
    state versions, which are how a lost state is restored).
    """
    from moto.s3.utils import _VersionedKeyStore  # noqa: PLC2701  (moto has no public name for it)

    copyreg.pickle(_VersionedKeyStore, lambda store: (_versioned_store, ({k: dict.__getitem__(store, k)
                                                                          for k in dict.keys(store)},)))


def _versioned_store(lists: dict[str, list[Any]]) -> Any:
    from moto.s3.utils import _VersionedKeyStore  # noqa: PLC2701  (moto has no public name for it)

    store = _VersionedKeyStore()
    for key, versions in lists.items():
        store.setlist(key, versions)
    return store


def snapshot_backends() -> dict[str, Any]:
    """Every backend moto has created, by service: ``{service: [(account, region, backend)]}``."""
    from moto.core.base_backend import BackendDict

    state: dict[str, list[tuple[str, str, Any]]] = {}
    for backends in list(BackendDict._instances):
        state.setdefault(backends.service_name, []).extend(backends.iter_backends())
    return {"format": SNAPSHOT_FORMAT, "services": state}


def restore_backends(snapshot: dict[str, Any]) -> list[str]:
    """Put a snapshot's backends in place of moto's (empty) ones; returns the services restored."""
    from moto.backends import get_backend

    restored = []
    for service, items in snapshot.get("services", {}).items():
        backends = get_backend(service)
        for account, region, backend in items:
            dict.__setitem__(backends[account], region, backend)
        restored.append(service)
    return restored


class PersistentState:
    """Loads the snapshot file at start and rewrites it after changes (debounced) and at exit."""

    def __init__(self, path: Path, interval: float) -> None:
        self.path, self.interval = path, interval
        self.lock = SharedExclusiveLock()
        self.dirty = threading.Event()
        self.stopped = threading.Event()

    def load(self) -> list[str]:
        if not self.path.exists():
            return []
        snapshot = pickle.loads(self.path.read_bytes())  # noqa: S301 - our own file, written by save()
        if snapshot.get("format") != SNAPSHOT_FORMAT:
            raise SystemExit(f"{self.path}: unknown snapshot format {snapshot.get('format')!r}")
        return restore_backends(snapshot)

    def save(self) -> None:
        self.lock.acquire_exclusive()
        try:
            self.dirty.clear()
            data = pickle.dumps(snapshot_backends(), protocol=pickle.HIGHEST_PROTOCOL)
        finally:
            self.lock.release_exclusive()
        tmp = self.path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, self.path)

    def saver(self) -> None:
        while not self.stopped.is_set():
            if self.dirty.wait(timeout=1) and not self.stopped.wait(self.interval):
                self.save()

    def middleware(self, app: Callable) -> Callable:
        def wrapped(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
            self.lock.acquire_shared()
            try:
                # moto answers within the call (bodies are built before returning), so the
                # response is complete when the lock is released.
                return list(app(environ, start_response))
            finally:
                self.lock.release_shared()
                if environ.get("REQUEST_METHOD", "GET") not in READ_METHODS:
                    self.dirty.set()

        return wrapped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.moto_persistent", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", type=Path, required=True, help="snapshot file (created when missing)")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between a change and its snapshot")
    args = parser.parse_args(argv)

    # moto builds some URLs (presigned, SQS queue URLs) from MOTO_PORT.
    os.environ.setdefault("MOTO_PORT", str(args.port))
    from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    _keep_s3_versions()
    state = PersistentState(args.state, args.interval)
    args.state.parent.mkdir(parents=True, exist_ok=True)
    restored = state.load()
    print(f"[moto] restored {', '.join(sorted(restored)) or 'nothing'} from {args.state}", flush=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = state.middleware(DomainDispatcherApplication(create_backend_app))
    server = make_server(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=state.saver, name="moto-snapshot", daemon=True).start()

    def stop(*_: Any) -> None:
        # shutdown() waits for serve_forever to return, which runs in the main thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"[moto] serving on http://{args.host}:{args.port}", flush=True)
    server.serve_forever()
    state.stopped.set()
    state.save()
    print(f"[moto] state saved to {args.state}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
