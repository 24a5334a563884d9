"""Client authentication (auth_code_flow_django.core.client_auth): private_key_jwt keys
and assertions, checked with the public key as a server would."""

from __future__ import annotations

import base64
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from auth_code_flow_django.core import client_auth
from auth_code_flow_django.core.client_auth import (
    CLIENT_ASSERTION_TYPE,
    ClientKey,
    ClientKeyError,
    authenticate,
    client_assertion,
    public_jwk,
    public_jwks,
)
from auth_code_flow_django.core.rfc7638_thumbprints import thumbprint


def pem(key: Any) -> str:
    return key.private_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def ec_jwk(curve: ec.EllipticCurve | None = None) -> dict[str, Any]:
    key = ec.generate_private_key(curve or ec.SECP256R1())
    return dict(ECAlgorithm.to_jwk(key, as_dict=True))


EC_KEY = ec.generate_private_key(ec.SECP256R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def verify(assertion: str, jwk: dict[str, Any], audience: str) -> dict[str, Any]:
    key = jwt.PyJWK(jwk)
    return jwt.decode(  # type: ignore[no-any-return]
        assertion, key.key, algorithms=[jwk["alg"]], audience=audience, issuer="client-1"
    )


@pytest.mark.parametrize(
    "value",
    [pem(EC_KEY), pem(RSA_KEY), ec_jwk(), dict(RSAAlgorithm.to_jwk(RSA_KEY, as_dict=True))],
)
def test_an_assertion_verifies_with_the_published_public_key(value: Any) -> None:
    key = ClientKey(value)
    now = time.time()
    claims = verify(
        client_assertion(key, "client-1", "https://as.example"),
        key.public_jwk,
        "https://as.example",
    )
    assert claims["iss"] == claims["sub"] == "client-1"
    assert claims["aud"] == "https://as.example"
    assert abs(claims["iat"] - now) <= 2
    assert claims["exp"] - claims["iat"] == client_auth.ASSERTION_LIFETIME
    assert jwt.get_unverified_header(client_assertion(key, "client-1", "x"))["kid"] == key.kid


def test_each_assertion_has_a_new_jti() -> None:
    key = ClientKey(pem(EC_KEY))
    jtis = {
        jwt.decode(client_assertion(key, "c", "a"), options={"verify_signature": False})["jti"]
        for _ in range(50)
    }
    assert len(jtis) == 50


def test_an_assertion_signed_with_another_key_does_not_verify() -> None:
    assertion = client_assertion(ClientKey(ec_jwk()), "client-1", "aud")
    with pytest.raises(jwt.InvalidSignatureError):
        verify(assertion, ClientKey(pem(EC_KEY)).public_jwk, "aud")


def test_the_public_jwk_has_no_private_member_and_a_thumbprint_kid() -> None:
    jwk = public_jwk(pem(EC_KEY))
    assert "d" not in jwk
    assert jwk["kid"] == thumbprint(jwk)
    assert (jwk["use"], jwk["alg"], jwk["kty"], jwk["crv"]) == ("sig", "ES256", "EC", "P-256")
    rsa_jwk = public_jwk(pem(RSA_KEY))
    assert {"d", "p", "q", "dp", "dq", "qi"}.isdisjoint(rsa_jwk)
    assert rsa_jwk["alg"] == "RS256"


def test_a_jwk_keeps_its_kid_and_alg() -> None:
    value = {**dict(RSAAlgorithm.to_jwk(RSA_KEY, as_dict=True)), "kid": "2026-12", "alg": "PS256"}
    key = ClientKey(value)
    assert (key.kid, key.algorithm) == ("2026-12", "PS256")
    assert jwt.get_unverified_header(client_assertion(key, "c", "a"))["alg"] == "PS256"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (public_jwk(pem(EC_KEY)), "public key"),
        (
            EC_KEY.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode(),
            "public key",
        ),
        (ec_jwk(ec.SECP384R1()), "P-256"),
        (pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)), "2048"),  # noqa: S505
        ({"kty": "oct", "k": "c2VjcmV0"}, "neither"),
        ({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA", "d": "AAAA"}, "not a valid"),
        ("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n", "neither"),
        (12345, "JWK dict or a PEM"),
        ({**ec_jwk(), "alg": "RS256"}, "alg"),
    ],
)
def test_an_unusable_key_is_refused_without_showing_it(value: Any, problem: str) -> None:
    with pytest.raises(ClientKeyError) as caught:
        ClientKey(value)
    message = str(caught.value)
    assert problem in message
    if isinstance(value, dict):
        for member in ("d", "x", "y", "k"):
            if member in value and len(value[member]) > 4:
                assert value[member] not in message
    elif isinstance(value, str):
        assert "BEGIN" not in message


def test_the_repr_shows_the_key_id_only() -> None:
    key = ClientKey(pem(EC_KEY))
    assert repr(key) == f"<ClientKey kid={key.kid!r} alg='ES256'>"
    jwk = ec_jwk()
    assert jwk["d"] not in repr(ClientKey(jwk))


def test_private_key_jwt_sends_the_assertion_and_no_secret() -> None:
    key = ClientKey(pem(EC_KEY))
    params, headers = authenticate(
        "private_key_jwt", "client-1", client_secret="unused-secret", key=key, audience="aud"
    )
    assert headers == {}
    assert params["client_id"] == "client-1"
    assert params["client_assertion_type"] == CLIENT_ASSERTION_TYPE
    assert "client_secret" not in params
    verify(params["client_assertion"], key.public_jwk, "aud")


def test_secret_methods_and_none() -> None:
    assert authenticate("client_secret_post", "id", client_secret="s") == (
        {"client_id": "id", "client_secret": "s"},
        {},
    )
    params, headers = authenticate("client_secret_basic", "a b", client_secret="p:w")
    assert params == {}
    assert base64.b64decode(headers["Authorization"].removeprefix("Basic ")) == b"a+b:p%3Aw"
    assert authenticate("none", "id") == ({"client_id": "id"}, {})


def test_private_key_jwt_without_a_key_is_a_configuration_error() -> None:
    with pytest.raises(client_auth.ImproperlyConfigured):
        authenticate("private_key_jwt", "id")


def test_a_jwk_set_publishes_each_key_id_once() -> None:
    first, second = public_jwk(pem(EC_KEY)), public_jwk(pem(RSA_KEY))
    assert public_jwks([first, second, dict(first)]) == {"keys": [first, second]}


def test_rfc7638_example_thumbprint() -> None:
    # RFC 7638 3.1.
    jwk = {
        "kty": "RSA",
        "n": (
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1"
            "L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4"
            "QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbO"
            "pbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csF"
            "Cur-kEgU8awapJzKnqDKgw"
        ),
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    with pytest.raises(ValueError, match="key type"):
        thumbprint({"kty": "oct", "k": "x"})
