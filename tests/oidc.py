"""An OpenID Connect provider for tests: its metadata, keys and ID tokens.

Keys are generated with ``cryptography``; forged tokens (``alg: none``, HMAC keyed
with the public key) are assembled by hand, since no JOSE library makes them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from functools import cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ISSUER = "https://idp.example/realms/main"
RFC8414_URL = "https://idp.example/.well-known/oauth-authorization-server/realms/main"
OPENID_URL = ISSUER + "/.well-known/openid-configuration"
AUTHORIZE_URL = ISSUER + "/protocol/openid-connect/auth"
TOKEN_URL = ISSUER + "/protocol/openid-connect/token"
REVOKE_URL = ISSUER + "/protocol/openid-connect/revoke"
USERINFO_URL = ISSUER + "/protocol/openid-connect/userinfo"
JWKS_URL = ISSUER + "/protocol/openid-connect/certs"
CLIENT_ID = "idp-client"
CLIENT_SECRET = "idp-client-secret-value"


def document(**overrides: Any) -> dict[str, Any]:
    """The provider's OpenID Connect discovery document; ``None`` drops a field."""
    body: dict[str, Any] = {
        "issuer": ISSUER,
        "authorization_endpoint": AUTHORIZE_URL,
        "token_endpoint": TOKEN_URL,
        "revocation_endpoint": REVOKE_URL,
        "userinfo_endpoint": USERINFO_URL,
        "jwks_uri": JWKS_URL,
        "response_types_supported": ["code", "id_token"],
        "code_challenge_methods_supported": ["plain", "S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def provider_settings(**overrides: Any) -> dict[str, Any]:
    """An ``OAUTH_PROVIDERS`` entry configured by its issuer alone."""
    return {
        "issuer": ISSUER,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scope": "openid profile",
        **overrides,
    }


@cache
def _rsa(name: str) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def _ec(name: str) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


class SigningKey:
    """A provider signing key: ``RS256`` (RSA) or ``ES256`` (P-256)."""

    def __init__(self, kid: str, alg: str = "RS256") -> None:
        self.kid = kid
        self.alg = alg
        self.private = _ec(kid) if alg == "ES256" else _rsa(kid)

    def jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.alg)
        public = algorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "use": "sig", "alg": self.alg}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        headers = {k: v for k, v in {"kid": self.kid, **header}.items() if v is not None}
        return jwt.encode(claims, self.private, algorithm=self.alg, headers=headers)


def jwks(*keys: SigningKey) -> dict[str, Any]:
    return {"keys": [key.jwk() for key in keys]}


def claims(flow_nonce: str | None, **overrides: Any) -> dict[str, Any]:
    """Good ID token claims for this client; ``None`` drops a claim."""
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "248289761001",
        "aud": CLIENT_ID,
        "exp": now + 300,
        "iat": now,
        "nonce": flow_nonce,
        "preferred_username": "alice.idp",
        "email": "alice@idp.example",
        "name": "Alice Example",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def compact(header: dict[str, Any], body: dict[str, Any], signature: bytes = b"") -> str:
    """A JWS in compact form with any header and signature (for forged tokens)."""
    return ".".join(
        [_b64(json.dumps(header).encode()), _b64(json.dumps(body).encode()), _b64(signature)]
    )


def hs256_with(secret: bytes, body: dict[str, Any], kid: str) -> str:
    """A token "signed" with HMAC-SHA256 keyed by ``secret`` (e.g. a public key)."""
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    signing_input = compact(header, body).rsplit(".", 1)[0]
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"
