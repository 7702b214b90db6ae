"""Secrets at rest: Fernet encryption with key rotation and an encrypted model field.

Keys come from ``SLIPWAY_ENCRYPTION_KEYS`` (comma-separated Fernet keys). The first key encrypts
and every key decrypts, so rotation is: generate a key (``manage.py rotate_secrets --new-key``),
put it first in the list, keep the old ones, run ``manage.py rotate_secrets`` to re-encrypt every
stored secret with the new key, then drop the old keys. Outside production, with no key set, a key
is derived from ``SECRET_KEY`` so a laptop works without configuration.

Every value the field encrypts or decrypts is also handed to ``portal.redaction.hold``: a secret
Slipway holds is masked in every log line, job output and stored message of the process.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from portal.redaction import hold

PREFIX = "fernet:"


class SecretDecryptionError(Exception):
    """A stored secret cannot be decrypted with any configured key."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        derived = base64.urlsafe_b64encode(hashlib.sha256(f"slipway:{secret_key}".encode()).digest())
        keys = (derived.decode(),)
    try:
        return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured("SLIPWAY_ENCRYPTION_KEYS holds a value that is not a Fernet key") from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.SLIPWAY_ENCRYPTION_KEYS), settings.SECRET_KEY)


def generate_key() -> str:
    return Fernet.generate_key().decode()


def encrypt(plaintext: str) -> str:
    """Encrypt with the primary key; the result is ASCII and safe to store in a text column."""
    return PREFIX + fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """Decrypt with any configured key. Raises SecretDecryptionError, never returns garbage."""
    if not token.startswith(PREFIX):
        raise SecretDecryptionError("value is not an encrypted secret")
    try:
        return fernet().decrypt(token[len(PREFIX):].encode()).decode()
    except InvalidToken as exc:
        raise SecretDecryptionError("no configured encryption key can decrypt this secret") from exc


def rotate(token: str) -> str:
    """Re-encrypt a stored token under the primary key (idempotent)."""
    return PREFIX + fernet().rotate(token[len(PREFIX):].encode()).decode()


class Secret(str):
    """A decrypted secret whose repr does not show the value (safe in tracebacks and logs)."""

    def __repr__(self) -> str:
        return "Secret('********')"


class EncryptedTextField(models.TextField):
    """A text column stored encrypted; Python code sees the plaintext as a ``Secret``."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        secret = Secret(decrypt(value))
        hold(secret)
        return secret

    def to_python(self, value):
        if value is None or isinstance(value, Secret):
            return value
        if isinstance(value, str) and value.startswith(PREFIX):
            return Secret(decrypt(value))
        return Secret(value)

    def get_prep_value(self, value):
        if value is None or value == "":
            return value
        hold(value)
        return encrypt(str(value))


def encrypted_fields() -> list[tuple[type[models.Model], str]]:
    """Every (model, field name) that holds an encrypted secret, for rotation."""
    return [(model, field.name) for model in apps.get_models() for field in model._meta.get_fields()
            if isinstance(field, EncryptedTextField)]
