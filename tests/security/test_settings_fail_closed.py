"""Class 12: settings fail closed. Unknown SLIPWAY_ENV values refuse to start; production is
`check --deploy` clean; production refuses the development key, DEBUG and bad encryption keys."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
GOOD_SECRET = "k3Jv9-QmZr_2xLw8PcYt6NbHs4DgFa1EoUiWq7VzXe0RnMy5TpKl"


def _manage(tmp_path, *args, **overrides):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLIPWAY_", "DJANGO_", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "SECURE_"))}
    env.update({"SLIPWAY_ENV": "production", "SECRET_KEY": GOOD_SECRET,
                "SLIPWAY_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                "ALLOWED_HOSTS": "slipway.example.com", "REDIS_URL": "redis://127.0.0.1:6399/0",
                "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "SLIPWAY_VAR_DIR": str(tmp_path / "var"),
                "DJANGO_SETTINGS_MODULE": "portal.settings"})
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_production_passes_check_deploy_without_warnings(tmp_path):
    result = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("value", ["prod", "Production", "PRODUCTION", "staging", "", " production", "dev"])
def test_unknown_environment_names_refuse_to_start(tmp_path, value):
    result = _manage(tmp_path, "check", SLIPWAY_ENV=value)
    assert result.returncode != 0
    assert "SLIPWAY_ENV" in result.stderr and "is not a known environment" in result.stderr


@pytest.mark.parametrize(("overrides", "needle"), [
    ({"SECRET_KEY": None}, "SECRET_KEY"),
    ({"SECRET_KEY": "slipway-development-only-secret-key-not-for-production"}, "SECRET_KEY"),
    ({"SECRET_KEY": "short"}, "SECRET_KEY"),
    ({"DEBUG": "1"}, "DEBUG"),
    ({"SLIPWAY_ENCRYPTION_KEYS": None}, "SLIPWAY_ENCRYPTION_KEYS"),
    ({"SLIPWAY_ENCRYPTION_KEYS": "not-a-fernet-key"}, "SLIPWAY_ENCRYPTION_KEYS"),
    ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS"),
])
def test_production_refuses_unsafe_settings(tmp_path, overrides, needle):
    result = _manage(tmp_path, "check", **overrides)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and needle in result.stderr.splitlines()[-1]


def test_development_still_starts_with_nothing_set(tmp_path):
    result = _manage(tmp_path, "check", SLIPWAY_ENV=None, SECRET_KEY=None, SLIPWAY_ENCRYPTION_KEYS=None,
                     ALLOWED_HOSTS=None, REDIS_URL=None)
    assert result.returncode == 0, result.stderr
