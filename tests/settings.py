"""Test settings: the project's settings, on the stack's real PostgreSQL server.

Unit tests run Celery eagerly and use the in-memory channel layer; integration tests that need a
real worker or Redis start them through the stack fixtures.
"""

import os
import sys

os.environ.setdefault("SLIPWAY_VAR_DIR", os.path.join(os.path.dirname(__file__), "..", "var", "test"))
os.environ.pop("REDIS_URL", None)
os.environ.pop("AWS_ENDPOINT_URL", None)

from devstack.daemons import Postgres
from devstack.process import Context, StackError
from portal.settings import *  # noqa: F403
from tests.fixtures.stack import in_ci


def _test_database() -> dict:
    if os.environ.get("SLIPWAY_TEST_DATABASE") == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    try:
        url = Postgres().up(Context.default())["POSTGRES_URL"]
    except (StackError, OSError, Exception) as exc:
        if in_ci():
            raise
        print(f"[tests] PostgreSQL unavailable ({exc}); falling back to SQLite", file=sys.stderr)
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    return environ.Env.db_url_config(url)  # noqa: F405


DATABASES = {"default": _test_database()}
# Each xdist-free run gets its own database name so parallel checkouts do not collide.
DATABASES["default"].setdefault("TEST", {})["NAME"] = f"test_slipway_{os.getpid()}"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = None
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SLIPWAY_JOB_STREAM_POLL_SECONDS = 0.2
SLIPWAY_ENCRYPTION_KEYS = ["JJ2v2F0gTTzJn4uFYFOpA2P1sqlLBfdpFRIohOCDfdo="]
