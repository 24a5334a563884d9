"""JWK thumbprints (RFC 7638).

PyJWT signs and parses keys but computes no thumbprint: this is the hash of the public
key's required members in their canonical JSON form (RFC 7638 3.2-3.3), which is data
shaping, not cryptography.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["REQUIRED_MEMBERS", "b64url", "thumbprint"]

#: The members a thumbprint covers, per key type (RFC 7638 3.2, RFC 8037 2).
REQUIRED_MEMBERS = {
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
    "OKP": ("crv", "kty", "x"),
}


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """The SHA-256 thumbprint of ``jwk``, base64url-encoded: the same for its public and
    private forms, since only the public required members count."""
    members = REQUIRED_MEMBERS.get(str(jwk.get("kty")))
    if members is None:
        raise ValueError("No thumbprint for this key type.")
    canonical = json.dumps(
        {name: jwk[name] for name in members}, separators=(",", ":"), sort_keys=True
    )
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())
