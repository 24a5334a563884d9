"""Encryption of tokens at rest with Fernet (AES-128-CBC + HMAC-SHA256).

Keys come from ``AUTH_CODE_FLOW_ENCRYPTION_KEYS`` (Fernet keys, newest first) or, by
default, are derived with HKDF from ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS``, so
rotating Django's secret key rotates ours the same way: old tokens stay readable
through the fallbacks, and ``oauth_rotate_keys`` re-encrypts them under the new key.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from .conf import conf
from .exceptions import ReauthorizationRequiredError

__all__ = ["TokenDecryptionError", "decrypt", "encrypt", "is_current", "rotate"]


class TokenDecryptionError(ReauthorizationRequiredError):
    """A stored value cannot be decrypted with any configured key.

    For a caller of the token API the connection is unusable until the keys are fixed
    or the user connects again, so it is a :class:`ReauthorizationRequiredError`."""

    default_description = (
        "A stored token cannot be decrypted with the configured keys "
        "(was SECRET_KEY changed without keeping the old one in SECRET_KEY_FALLBACKS?)."
    )


@lru_cache(maxsize=16)
def derive_key(secret: str) -> bytes:
    """A Fernet key derived from a Django secret key (HKDF-SHA256)."""
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"auth-code-flow-django",
        info=b"token encryption v1",
    )
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode("utf-8")))


@lru_cache(maxsize=16)
def _fernet(keys: tuple[bytes, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def current_keys() -> tuple[bytes, ...]:
    explicit = conf.ENCRYPTION_KEYS
    if explicit:
        return tuple(k.encode("ascii") if isinstance(k, str) else k for k in explicit)
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return tuple(derive_key(secret) for secret in secrets)


_current: list[MultiFernet] = []


def get_fernet() -> MultiFernet:
    # Kept until a key setting changes: reading the settings and looking the keys up
    # again cost a third of a decryption.
    if not _current:
        _current.append(_fernet(current_keys()))
    return _current[0]


@receiver(setting_changed)
def _forget(setting: str, **kwargs: object) -> None:
    if setting in ("SECRET_KEY", "SECRET_KEY_FALLBACKS", "AUTH_CODE_FLOW_ENCRYPTION_KEYS"):
        _current.clear()


def encrypt(plaintext: str) -> str:
    return get_fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(ciphertext: str) -> str:
    try:
        return get_fernet().decrypt(ciphertext.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise TokenDecryptionError() from None


def is_current(ciphertext: str) -> bool:
    """Whether ``ciphertext`` is already encrypted under the first (current) key."""
    try:
        _fernet(current_keys()[:1]).decrypt(ciphertext.encode("ascii"))
    except (InvalidToken, UnicodeError):
        return False
    return True


def rotate(ciphertext: str) -> str:
    """Re-encrypt ``ciphertext`` under the current key."""
    try:
        return get_fernet().rotate(ciphertext.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise TokenDecryptionError() from None
