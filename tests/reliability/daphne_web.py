"""A real daphne web process for fault tests, its output in a file the test can read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings as django_settings

from devstack.process import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


def start_web(log: Path, **env: str) -> tuple[subprocess.Popen, str]:
    """daphne on a free loopback port with production-like settings (DEBUG off) plus ``env``; returns
    the process and its base URL. It signs sessions with the test's keys, so the test can sign people in."""
    port = free_port()
    environ = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DEBUG": "false",
               "SECRET_KEY": django_settings.SECRET_KEY,
               "SLIPWAY_ENCRYPTION_KEYS": ",".join(django_settings.SLIPWAY_ENCRYPTION_KEYS), **env}
    environ.pop("CELERY_TASK_ALWAYS_EAGER", None)
    proc = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                             "portal.asgi:application"], cwd=ROOT, env=environ, stdout=log.open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port(port, name="daphne", timeout=60, log=log)
    except Exception:
        proc.kill()
        raise
    return proc, f"http://127.0.0.1:{port}"
