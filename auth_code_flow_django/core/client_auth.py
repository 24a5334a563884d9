"""Client authentication at the token endpoint.

``client_secret_basic`` and ``client_secret_post`` (RFC 6749 2.3.1), ``none`` (a public
client, which sends its ``client_id``), and ``private_key_jwt`` (RFC 7523 2.2, OpenID
Connect Core 9): a short-lived JWT signed with the client's private key, with a
unique ``jti``, which the server checks with the public key the client registered
(usually through a ``jwks_uri`` the site serves).

Every signature and key goes through PyJWT. No message here ever shows key material.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args
from urllib.parse import quote_plus

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from .errors import ImproperlyConfigured
from .rfc7638_thumbprints import thumbprint

__all__ = [
    "ASSERTION_LIFETIME",
    "CLIENT_ASSERTION_TYPE",
    "CLIENT_AUTH_METHODS",
    "ClientAuthMethod",
    "ClientKey",
    "ClientKeyError",
    "authenticate",
    "client_assertion",
    "public_jwk",
    "public_jwks",
]

ClientAuthMethod = Literal["client_secret_post", "client_secret_basic", "none", "private_key_jwt"]
CLIENT_AUTH_METHODS: tuple[str, ...] = get_args(ClientAuthMethod)

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: Seconds a client assertion is valid: long enough for one request, no more.
ASSERTION_LIFETIME = 60
#: The algorithms a client key signs with, by key type (the JWK's ``alg`` may pick
#: another of its type's).
ALGORITHMS = {"RSA": ("RS256", "PS256"), "EC": ("ES256",)}
MIN_RSA_BITS = 2048


class ClientKeyError(ImproperlyConfigured):
    """A configured client key cannot be used; the message names the problem, never
    the key."""

    default_description = "The client key cannot be used."


def _pyjwt_key(value: object) -> Any:
    """The ``cryptography`` key in a PEM string or a JWK dict, through PyJWT."""
    if isinstance(value, Mapping):
        kty = value.get("kty")
        if kty not in ALGORITHMS:
            raise ClientKeyError("The key is neither an RSA nor an EC key (kty).")
        algorithm = RSAAlgorithm if kty == "RSA" else ECAlgorithm
        try:
            return algorithm.from_jwk(dict(value))
        except (jwt.InvalidKeyError, ValueError, TypeError, KeyError):
            raise ClientKeyError("The key is not a valid JWK.") from None
    if isinstance(value, (str, bytes)):
        pem = value.encode("ascii", "replace") if isinstance(value, str) else value
        loaders: tuple[Any, ...] = (
            RSAAlgorithm(RSAAlgorithm.SHA256),
            ECAlgorithm(ECAlgorithm.SHA256),
        )
        for loader in loaders:
            try:
                return loader.prepare_key(pem)
            except (jwt.InvalidKeyError, ValueError, TypeError):
                continue
        raise ClientKeyError("The key is neither a PEM RSA or EC key nor a JWK dict.")
    raise ClientKeyError("The key must be a JWK dict or a PEM string.")


def _check_type(key: Any) -> None:
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        if key.key_size < MIN_RSA_BITS:
            raise ClientKeyError(f"The RSA key has fewer than {MIN_RSA_BITS} bits.")
        return
    # Otherwise an EC key: the only other kind PyJWT's loaders above return.
    if not isinstance(key.curve, ec.SECP256R1):
        raise ClientKeyError("The EC key is not on the P-256 curve (ES256).")


def _jwk_of(key: Any) -> dict[str, Any]:
    algorithm = (
        RSAAlgorithm if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)) else ECAlgorithm
    )
    return dict(algorithm.to_jwk(key, as_dict=True))


def public_jwk(value: object) -> dict[str, Any]:
    """The public JWK (with ``kid``, ``use`` and ``alg``) of a key given as a JWK dict or
    a PEM string, private or public. Raises ``ClientKeyError``."""
    key = _pyjwt_key(value)
    _check_type(key)
    if isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        key = key.public_key()
    jwk = _jwk_of(key)
    given = value if isinstance(value, Mapping) else {}
    jwk["kid"] = str(given.get("kid") or thumbprint(jwk))
    jwk["use"] = "sig"
    jwk["alg"] = _algorithm(jwk["kty"], given.get("alg"))
    return jwk


def _algorithm(kty: str, wanted: object) -> str:
    allowed = ALGORITHMS[kty]
    if wanted is None:
        return allowed[0]
    if wanted not in allowed:
        raise ClientKeyError(f"The key's alg must be one of {', '.join(allowed)}.")
    return str(wanted)


class ClientKey:
    """The client's private signing key. Its ``repr()`` shows the key id, not the key."""

    __slots__ = ("_key", "algorithm", "kid", "public_jwk")

    def __init__(self, value: object) -> None:
        key = _pyjwt_key(value)
        _check_type(key)
        if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
            raise ClientKeyError("The key is a public key; private_key_jwt needs the private key.")
        self._key = key
        self.public_jwk = public_jwk(value)
        self.kid: str = self.public_jwk["kid"]
        self.algorithm: str = self.public_jwk["alg"]

    def __repr__(self) -> str:
        return f"<ClientKey kid={self.kid!r} alg={self.algorithm!r}>"

    def sign(self, claims: Mapping[str, Any]) -> str:
        return jwt.encode(
            dict(claims), self._key, algorithm=self.algorithm, headers={"kid": self.kid}
        )


def client_assertion(
    key: ClientKey, client_id: str, audience: str, *, now: float | None = None
) -> str:
    """A fresh client assertion (RFC 7523 3): ``iss`` and ``sub`` the client, ``aud``
    the server, a unique ``jti``, valid ``ASSERTION_LIFETIME`` (60) seconds."""
    issued = int(time.time() if now is None else now)
    return key.sign(
        {
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "jti": secrets.token_urlsafe(24),
            "iat": issued,
            "exp": issued + ASSERTION_LIFETIME,
        }
    )


def authenticate(
    method: str,
    client_id: str,
    *,
    client_secret: str | None = None,
    key: ClientKey | None = None,
    audience: str = "",
) -> tuple[dict[str, str], dict[str, str]]:
    """The body parameters and headers that authenticate the client with ``method``;
    a ``private_key_jwt`` assertion is new at each call."""
    if method == "client_secret_basic":
        # RFC 6749 2.3.1: each part is form-encoded before the Basic encoding.
        pair = f"{quote_plus(client_id)}:{quote_plus(str(client_secret))}"
        return {}, {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
    params = {"client_id": client_id}
    if method == "client_secret_post":
        params["client_secret"] = str(client_secret)
    elif method == "private_key_jwt":
        if key is None:
            raise ImproperlyConfigured("private_key_jwt needs client_private_key.")
        params["client_assertion_type"] = CLIENT_ASSERTION_TYPE
        params["client_assertion"] = client_assertion(key, client_id, audience)
    return params, {}


def public_jwks(keys: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A JWK Set of public keys, without duplicate key ids (the first wins)."""
    seen: set[str] = set()
    published = []
    for jwk in keys:
        if jwk["kid"] not in seen:
            seen.add(jwk["kid"])
            published.append(dict(jwk))
    return {"keys": published}
