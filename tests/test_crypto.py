from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.test import override_settings

from auth_code_flow_django import crypto

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


def test_round_trip_and_randomised_ciphertext() -> None:
    one = crypto.encrypt("token-value")
    two = crypto.encrypt("token-value")
    assert one != two
    assert "token-value" not in one
    assert crypto.decrypt(one) == "token-value"


def test_keys_are_derived_from_secret_key_and_follow_its_rotation() -> None:
    with override_settings(SECRET_KEY="old-secret-key-" + "x" * 40):
        old = crypto.encrypt("v")
    with (
        override_settings(SECRET_KEY="new-secret-key-" + "y" * 40),
        pytest.raises(crypto.TokenDecryptionError),
    ):
        crypto.decrypt(old)
    with override_settings(
        SECRET_KEY="new-secret-key-" + "y" * 40,
        SECRET_KEY_FALLBACKS=["old-secret-key-" + "x" * 40],
    ):
        assert crypto.decrypt(old) == "v"
        assert not crypto.is_current(old)
        rotated = crypto.rotate(old)
        assert crypto.is_current(rotated)
    with override_settings(SECRET_KEY="new-secret-key-" + "y" * 40):
        assert crypto.decrypt(rotated) == "v"


def test_derived_key_is_not_the_secret_key() -> None:
    assert crypto.derive_key("abc") != crypto.derive_key("abd")
    assert b"abc" not in crypto.derive_key("abc")


def test_explicit_keys_take_precedence() -> None:
    with override_settings(AUTH_CODE_FLOW_ENCRYPTION_KEYS=[KEY_A]):
        under_a = crypto.encrypt("v")
    assert Fernet(KEY_A.encode()).decrypt(under_a.encode()) == b"v"
    with pytest.raises(crypto.TokenDecryptionError):
        crypto.decrypt(under_a)
    with override_settings(AUTH_CODE_FLOW_ENCRYPTION_KEYS=[KEY_B, KEY_A]):
        assert crypto.decrypt(under_a) == "v"
        assert crypto.is_current(crypto.rotate(under_a))


def test_garbage_is_a_clear_error() -> None:
    with pytest.raises(crypto.TokenDecryptionError, match="SECRET_KEY_FALLBACKS"):
        crypto.decrypt("not-a-fernet-token")
    with pytest.raises(crypto.TokenDecryptionError):
        crypto.rotate("é")
    assert crypto.is_current("é") is False
