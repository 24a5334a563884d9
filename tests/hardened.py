"""Shared pieces of the PAR, DPoP and private_key_jwt tests: a provider that uses all
three (the AT Protocol shape), its keys, and helpers that check what a server checks."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

AS = "https://as.example"
TOKEN = f"{AS}/token"
REVOKE = f"{AS}/revoke"
PAR = f"{AS}/par"
AUTHORIZE = f"{AS}/authorize"
API = "https://api.example/v1/me"

CLIENT_JWK: dict[str, Any] = {
    **ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()), as_dict=True),
    "kid": "client-key-1",
}
PREVIOUS_JWK: dict[str, Any] = {
    **ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key(), as_dict=True),
    "kid": "client-key-0",
}
PUBLIC_JWK = {k: v for k, v in CLIENT_JWK.items() if k != "d"}


def provider(**overrides: Any) -> dict[str, Any]:
    """The ``hardened`` provider settings: all three features on, no discovery."""
    return {
        "base_uri": AS,
        "authorization_path": "/authorize",
        "access_token_path": "/token",
        "revocation_path": "/revoke",
        "pushed_authorization_request_endpoint": "/par",
        "client_id": "client-1",
        "token_endpoint_auth_method": "private_key_jwt",
        "client_private_key": CLIENT_JWK,
        "client_previous_public_keys": [PREVIOUS_JWK],
        "pushed_authorization_requests": True,
        "dpop": True,
        "scope": "read",
        "api_base_urls": ["https://api.example/"],
        "discovery": False,
        **overrides,
    }


def providers(**overrides: Any) -> dict[str, Any]:
    return {"hardened": provider(**overrides)}


def form(call: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(str(call.request.body)).items()}


def check_assertion(body: dict[str, str], audience: str) -> dict[str, Any]:
    """The claims of the client assertion in ``body``, verified with the public key."""
    assert body["client_assertion_type"] == (
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    )
    assert "client_secret" not in body
    key = jwt.PyJWK({**PUBLIC_JWK, "alg": "ES256"})
    claims: dict[str, Any] = jwt.decode(
        body["client_assertion"], key.key, algorithms=["ES256"], audience=audience
    )
    assert claims["iss"] == claims["sub"] == "client-1"
    assert claims["exp"] - claims["iat"] <= 60
    return claims


def check_proof(call: Any, method: str, url: str, jkt: str | None = None) -> dict[str, Any]:
    """The claims of the DPoP proof of ``call``, verified with the key in its header
    (whose thumbprint must be ``jkt`` when given)."""
    from auth_code_flow_django.core.rfc7638_thumbprints import thumbprint

    proof = call.request.headers["DPoP"]
    header = jwt.get_unverified_header(proof)
    assert header["typ"] == "dpop+jwt"
    assert "d" not in header["jwk"]
    if jkt is not None:
        assert thumbprint(header["jwk"]) == jkt
    key = jwt.PyJWK(header["jwk"], algorithm=header["alg"])
    claims: dict[str, Any] = jwt.decode(proof, key.key, algorithms=[header["alg"]])
    assert claims["htm"] == method
    assert claims["htu"] == url
    return claims


def dpop_token_json(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": "dpop-access-token-0001",
        "token_type": "DPoP",
        "expires_in": 3600,
        "refresh_token": "dpop-refresh-token-0002",
        "scope": "read",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}
