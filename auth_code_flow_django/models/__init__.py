"""Storage: pending authorizations (``OAuthState``) and tokens (``OAuthToken``).

Secrets are never stored in clear: the ``state`` is kept as a SHA-256 digest, and
the PKCE verifier, the OpenID Connect nonce and the tokens are encrypted
(:mod:`auth_code_flow_django.crypto`). Each model is in its own module (``state``,
``token``), beside what both use to keep secret values (``secret_values``) and
to write rows (``writes``).
"""

from __future__ import annotations

from .secret_values import decrypt_dpop_key, encrypt_dpop_key, mask, state_digest
from .state import MAX_STATE_LENGTH, OAuthState, OAuthStateQuerySet
from .token import OAuthToken, OAuthTokenQuerySet
from .writes import is_deadlock, retry_on_deadlock, stored_datetime

__all__ = [
    "MAX_STATE_LENGTH",
    "OAuthState",
    "OAuthStateQuerySet",
    "OAuthToken",
    "OAuthTokenQuerySet",
    "decrypt_dpop_key",
    "encrypt_dpop_key",
    "is_deadlock",
    "mask",
    "retry_on_deadlock",
    "state_digest",
    "stored_datetime",
]
