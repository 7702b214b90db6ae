"""Settings defaults: a laptop with no variables set, and production's refusals."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "k3Jv9-QmZr_2xLw8PcYt6NbHs4DgFa1EoUiWq7VzXe0RnMy5TpKl"  # production refuses weak keys
PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'db': settings.DATABASES['default']['ENGINE'], "
    "'layer': settings.CHANNEL_LAYERS['default']['BACKEND'], 'broker': settings.CELERY_BROKER_URL, "
    "'debug': settings.DEBUG, 'secure_cookie': settings.SESSION_COOKIE_SECURE, "
    "'ssl_redirect': settings.SECURE_SSL_REDIRECT, 'hsts': settings.SECURE_HSTS_SECONDS}))"
)


def probe(tmp_path, **env_vars):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLIPWAY_", "DATABASE_", "REDIS_", "CELERY_", "CHANNEL_", "SECRET_KEY", "DEBUG"))}
    env.update({"DJANGO_SETTINGS_MODULE": "portal.settings", "SLIPWAY_VAR_DIR": str(tmp_path)}, **env_vars)
    return subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True)


def test_defaults_work_on_a_laptop(tmp_path):
    result = probe(tmp_path)
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts["db"] == "django.db.backends.sqlite3"
    assert facts["layer"] == "channels.layers.InMemoryChannelLayer"
    assert facts["broker"] == "filesystem://"
    # `make run` included: a QA user gets the friendly error pages, never Django's technical ones.
    assert facts["debug"] is False
    assert facts["secure_cookie"] is False
    assert json.loads(probe(tmp_path, DEBUG="1").stdout)["debug"] is True


def test_redis_url_switches_broker_and_channel_layer(tmp_path):
    facts = json.loads(probe(tmp_path, REDIS_URL="redis://127.0.0.1:1/0").stdout)
    assert facts["broker"] == "redis://127.0.0.1:1/0"
    assert facts["layer"] == "channels_redis.core.RedisChannelLayer"


def test_database_url_switches_to_postgresql(tmp_path):
    facts = json.loads(probe(tmp_path, DATABASE_URL="postgres://u:p@127.0.0.1:5432/slipway").stdout)
    assert facts["db"] == "django.db.backends.postgresql"


@pytest.mark.parametrize(("missing", "message"), [
    ("SECRET_KEY", "SECRET_KEY must be set"),
    ("SLIPWAY_ENCRYPTION_KEYS", "SLIPWAY_ENCRYPTION_KEYS must be set"),
    ("REDIS_URL", "REDIS_URL (or CELERY_BROKER_URL) must be set"),
])
def test_production_refuses_to_start_without_keys(tmp_path, missing, message):
    env = {"SLIPWAY_ENV": "production", "SECRET_KEY": STRONG_KEY, "REDIS_URL": "redis://redis:6379/0",
           "SLIPWAY_ENCRYPTION_KEYS": "JJ2v2F0gTTzJn4uFYFOpA2P1sqlLBfdpFRIohOCDfdo=", "ALLOWED_HOSTS": "slipway.example"}
    env.pop(missing)
    result = probe(tmp_path, **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_is_safe_by_default(tmp_path):
    result = probe(tmp_path, SLIPWAY_ENV="production", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="slipway.example",
                   REDIS_URL="redis://redis:6379/0",
                   SLIPWAY_ENCRYPTION_KEYS="JJ2v2F0gTTzJn4uFYFOpA2P1sqlLBfdpFRIohOCDfdo=")
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts["debug"] is False
    assert facts["secure_cookie"] is True
    assert facts["ssl_redirect"] is True
    assert facts["hsts"] >= 31536000
