"""How the models keep and show secret values: the ``state`` as a digest, DPoP keys
encrypted, tokens masked for display."""

from __future__ import annotations

import hashlib

from .. import crypto
from ..core.rfc9449_dpop import DPoPKey


def state_digest(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8", "surrogatepass")).hexdigest()


def mask(value: str | None) -> str:
    """At most the last four characters, and only of a value long enough to hide."""
    if not value:
        return ""
    return "\u2022" * 8 + (value[-4:] if len(value) >= 16 else "")


def encrypt_dpop_key(key: DPoPKey | None) -> str:
    return crypto.encrypt(key.to_json()) if key is not None else ""


def decrypt_dpop_key(encrypted: str) -> DPoPKey | None:
    if not encrypted:
        return None
    return DPoPKey.from_json(crypto.decrypt(encrypted))
