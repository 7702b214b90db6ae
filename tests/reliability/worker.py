"""A real Celery worker on the test database, for tests that kill one mid-task."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def portal_environment(url: str, var_dir: Path, **env: str) -> dict[str, str]:
    """The environment of a Slipway process on the test database and Redis ``url``, redelivering after 5 s.

    A job's lease lasts 3 s, so a killed worker's job is taken over by the redelivery 5 s later.
    """
    db = connection.settings_dict
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "REDIS_URL": url,
            "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "SLIPWAY_VAR_DIR": str(var_dir), "SLIPWAY_CELERY_VISIBILITY_TIMEOUT": "5",
            "SLIPWAY_JOB_LEASE_SECONDS": "3",
            "SLIPWAY_ENCRYPTION_KEYS": ",".join(django_settings.SLIPWAY_ENCRYPTION_KEYS), **env}


def start_worker(url: str, queue: str, var_dir: Path, *, output: Any = subprocess.DEVNULL, app: str = "portal",
                 pool: str = "solo", concurrency: int = 1, **env: str) -> subprocess.Popen:
    """``celery -A app worker --pool solo`` (or ``pool`` of ``concurrency``: the product's workers run ``threads``)
    on ``queue`` (Redis ``url``), redelivering after 5 s; ``env`` adds settings; its stdout and stderr go to
    ``output`` (a file, or nowhere)."""
    environ = portal_environment(url, var_dir, **env)
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", app, "worker", "--pool", pool,
                             "--concurrency", str(concurrency), "-l", "info",
                             "--without-gossip", "--without-mingle", "-Q", queue], cwd=ROOT, env=environ,
                            stdout=output, stderr=subprocess.STDOUT, start_new_session=True)


def kill(*workers: subprocess.Popen | None) -> None:
    """SIGKILL each worker still running (its whole process group) and reap it; None is skipped."""
    for proc in workers:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")
