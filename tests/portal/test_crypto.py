import logging

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings

from portal import crypto, redaction

KEY_OLD = Fernet.generate_key().decode()
KEY_NEW = Fernet.generate_key().decode()


def test_round_trip_and_ciphertext_hides_plaintext():
    token = crypto.encrypt("s3cr3t-password")
    assert token.startswith("fernet:")
    assert "s3cr3t" not in token
    assert crypto.decrypt(token) == "s3cr3t-password"


def test_rotation_old_keys_still_decrypt_and_rotate_moves_to_primary():
    with override_settings(SLIPWAY_ENCRYPTION_KEYS=[KEY_OLD]):
        token = crypto.encrypt("kubeconfig-data")
    with override_settings(SLIPWAY_ENCRYPTION_KEYS=[KEY_NEW, KEY_OLD]):
        assert crypto.decrypt(token) == "kubeconfig-data"
        rotated = crypto.rotate(token)
    with override_settings(SLIPWAY_ENCRYPTION_KEYS=[KEY_NEW]):
        assert crypto.decrypt(rotated) == "kubeconfig-data"
        with pytest.raises(crypto.SecretDecryptionError):
            crypto.decrypt(token)


def test_secret_repr_does_not_leak():
    secret = crypto.Secret("hunter2")
    assert "hunter2" not in repr(secret)
    assert secret == "hunter2"


@pytest.mark.parametrize("text", [
    "password=hunter2", "token: abc.def.ghi", '"client-key-data": "LS0tLS1CRUdJTi"', "AWS_SECRET_ACCESS_KEY=wJalrX",
])
def test_redact_masks_credentials(text):
    cleaned = redaction.redact(text)
    assert "********" in cleaned
    for secret in ("hunter2", "abc.def.ghi", "LS0tLS1CRUdJTi", "wJalrX"):
        assert secret not in cleaned


def test_logging_filter_redacts(caplog):
    logger = logging.getLogger("slipway.test")
    logger.addFilter(redaction.RedactSecretsFilter())
    with caplog.at_level(logging.INFO):
        logger.info("connecting with password=%s", "hunter2")
    assert "hunter2" not in caplog.text
    assert "password=********" in caplog.text
