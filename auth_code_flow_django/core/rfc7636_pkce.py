"""PKCE: proof key for code exchange (RFC 7636) with the S256 method.

Nothing here imports Django.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["code_challenge_s256", "derived_code_verifier", "make_code_verifier"]

VERIFIER_BYTES = 48  # 64 characters, inside RFC 7636's 43..128


def make_code_verifier() -> str:
    """A fresh PKCE code verifier (RFC 7636 4.1)."""
    return secrets.token_urlsafe(VERIFIER_BYTES)


def code_challenge_s256(code_verifier: str) -> str:
    """The S256 code challenge of ``code_verifier`` (RFC 7636 4.2)."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def derived_code_verifier(key: str, state: str) -> str:
    """A verifier for ``state`` derived with an HMAC keyed by ``key``: someone who sees
    the state (it travels in URLs) cannot compute it, and the caller keeps nothing."""
    digest = hmac.new(
        key.encode("utf-8"),
        b"auth-code-flow-django pkce verifier\x00" + state.encode("utf-8"),
        hashlib.sha256,
    ).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
