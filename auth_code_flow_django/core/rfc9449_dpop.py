"""DPoP: demonstrating proof of possession (RFC 9449).

Each connection has a key pair of its own (:class:`DPoPKey`), made when the user starts
connecting. Every request to the token, revocation and pushed-authorization endpoints,
and every API request with a DPoP-bound token, carries a fresh proof: a JWT signed with
that key over the method and URL (and, for an API request, the token's hash). A server
may require a nonce in proofs: it answers ``use_dpop_nonce`` with a ``DPoP-Nonce``
header, the request is sent once more with it, and the latest nonce of each server is
kept for the next proofs (:class:`NonceStore`).

Every signature and key goes through PyJWT; key generation through ``cryptography``.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from .rfc7638_thumbprints import b64url, thumbprint

__all__ = [
    "DEFAULT_ALGORITHM",
    "DPOP_ALGORITHMS",
    "NONCES",
    "DPoPAuth",
    "DPoPKey",
    "NonceStore",
    "access_token_hash",
    "choose_algorithm",
    "nonce_challenge",
    "origin_of",
    "proof_target",
    "send_with_proof",
]

DEFAULT_ALGORITHM = "ES256"
#: The algorithms a DPoP key may use, in order of preference.
DPOP_ALGORITHMS = ("ES256", "ES384", "ES512", "EdDSA", "PS256", "RS256")
_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "ES256": ec.SECP256R1,
    "ES384": ec.SECP384R1,
    "ES512": ec.SECP521R1,
}
#: A nonce as RFC 9449 8.1 allows it (NQCHAR), of a sane length.
_NONCE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,512}")
_CHALLENGE = re.compile(r'^\s*DPoP\b.*\berror\s*=\s*"?use_dpop_nonce"?', re.IGNORECASE)


def choose_algorithm(supported: Sequence[str] | None) -> str | None:
    """The algorithm for a new key: ES256 unless the server's
    ``dpop_signing_alg_values_supported`` lacks it; ``None`` when the server supports
    none of :data:`DPOP_ALGORITHMS`."""
    if supported is None:
        return DEFAULT_ALGORITHM
    return next((alg for alg in DPOP_ALGORITHMS if alg in supported), None)


def _generate(algorithm: str) -> dict[str, Any]:
    if algorithm in _CURVES:
        return dict(
            ECAlgorithm.to_jwk(ec.generate_private_key(_CURVES[algorithm]()), as_dict=True)
        )
    if algorithm == "EdDSA":
        return dict(OKPAlgorithm.to_jwk(ed25519.Ed25519PrivateKey.generate(), as_dict=True))
    if algorithm in ("PS256", "RS256"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return dict(RSAAlgorithm.to_jwk(key, as_dict=True))
    raise ValueError(f"Unsupported DPoP algorithm {algorithm!r}.")


def access_token_hash(access_token: str) -> str:
    """``ath``: the base64url SHA-256 of the access token (RFC 9449 4.2)."""
    return b64url(hashlib.sha256(access_token.encode("ascii")).digest())


def proof_target(url: str) -> str:
    """``htu``: the URL without query and fragment (RFC 9449 4.2)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


class DPoPKey:
    """A connection's DPoP key pair. Its ``repr()`` shows the thumbprint only; it is
    stored encrypted (``to_json()`` is the private key)."""

    __slots__ = ("_data", "_jwk", "algorithm", "public_jwk", "thumbprint")

    def __init__(self, private_jwk: dict[str, Any], algorithm: str) -> None:
        if algorithm not in DPOP_ALGORITHMS:
            raise ValueError("Unsupported DPoP algorithm.")
        self.algorithm = algorithm
        self._data = dict(private_jwk)
        self._jwk = jwt.PyJWK(private_jwk, algorithm=algorithm)
        public = self._jwk.key.public_key()
        algorithm_class: dict[str, Any] = {
            "EC": ECAlgorithm,
            "OKP": OKPAlgorithm,
            "RSA": RSAAlgorithm,
        }
        self.public_jwk: dict[str, Any] = dict(
            algorithm_class[private_jwk["kty"]].to_jwk(public, as_dict=True)
        )
        #: ``jkt``: the JWK thumbprint (RFC 7638) that binds tokens to this key.
        self.thumbprint = thumbprint(self.public_jwk)

    @classmethod
    def generate(cls, algorithm: str = DEFAULT_ALGORITHM) -> DPoPKey:
        return cls(_generate(algorithm), algorithm)

    @classmethod
    def from_json(cls, text: str) -> DPoPKey:
        """The key ``to_json()`` wrote."""
        data = json.loads(text)
        return cls(data["jwk"], data["alg"])

    def to_json(self) -> str:
        """The private key and its algorithm, to store encrypted."""
        return json.dumps({"alg": self.algorithm, "jwk": self._data})

    def __repr__(self) -> str:
        return f"<DPoPKey alg={self.algorithm!r} jkt={self.thumbprint!r}>"

    def proof(
        self,
        method: str,
        url: str,
        *,
        nonce: str | None = None,
        access_token: str | None = None,
        now: float | None = None,
    ) -> str:
        """A new DPoP proof (RFC 9449 4.2) for one request; never the same ``jti``."""
        claims: dict[str, Any] = {
            "jti": secrets.token_urlsafe(24),
            "htm": method.upper(),
            "htu": proof_target(url),
            "iat": int(time.time() if now is None else now),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        if access_token is not None:
            claims["ath"] = access_token_hash(access_token)
        return jwt.encode(
            claims,
            self._jwk.key,
            algorithm=self.algorithm,
            headers={"typ": "dpop+jwt", "jwk": self.public_jwk},
        )


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, in lower case: whose nonce a nonce is."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class NonceStore:
    """The latest DPoP nonce each server (by origin) gave, for the next proofs; bounded
    in size, thread-safe."""

    def __init__(self, size: int = 1024) -> None:
        self._nonces: OrderedDict[str, str] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, url: str) -> str | None:
        with self._lock:
            return self._nonces.get(origin_of(url))

    def remember(self, url: str, response: requests.Response) -> str | None:
        """Keep the nonce ``response`` gives, if any; return it."""
        nonce = response.headers.get("DPoP-Nonce")
        if nonce is None or not _NONCE.fullmatch(nonce):
            return None
        origin = origin_of(url)
        with self._lock:
            self._nonces[origin] = nonce
            self._nonces.move_to_end(origin)
            while len(self._nonces) > self._size:
                self._nonces.popitem(last=False)
        return nonce


#: The nonces of every server this process talks to.
NONCES = NonceStore()


def nonce_challenge(response: requests.Response) -> bool:
    """Whether ``response`` asks for a proof with a (new) nonce: an authorization
    server's 400 ``use_dpop_nonce`` error (RFC 9449 8), or a resource server's 401 with
    ``WWW-Authenticate: DPoP error="use_dpop_nonce"`` (RFC 9449 9)."""
    if response.status_code == 401:
        return bool(_CHALLENGE.match(response.headers.get("WWW-Authenticate", "")))
    if response.status_code != 400:
        return False
    try:
        body = json.loads(response.content or b"{}")
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("error") == "use_dpop_nonce"


def send_with_proof(
    key: DPoPKey,
    nonces: NonceStore,
    method: str,
    url: str,
    send: Callable[[dict[str, str], bool], requests.Response],
    *,
    access_token: str | None = None,
) -> requests.Response:
    """``send(headers, retry)`` with a ``DPoP`` proof header; once more, with a new proof,
    when the server asks for a nonce it has just given. Never more than two requests."""
    headers = {"DPoP": key.proof(method, url, nonce=nonces.get(url), access_token=access_token)}
    response = send(headers, False)
    nonce = nonces.remember(url, response)
    if nonce is None or not nonce_challenge(response):
        return response
    response.close()
    headers = {"DPoP": key.proof(method, url, nonce=nonce, access_token=access_token)}
    response = send(headers, True)
    nonces.remember(url, response)
    return response


class DPoPAuth(requests.auth.AuthBase):
    """``Authorization: DPoP <token>`` and a fresh proof for one API request. Its
    ``repr()`` shows neither the token nor the key."""

    def __init__(self, access_token: str, key: DPoPKey, nonce: str | None = None) -> None:
        self.access_token = access_token
        self.key = key
        self.nonce = nonce

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"DPoP {self.access_token}"
        request.headers["DPoP"] = self.key.proof(
            str(request.method),
            str(request.url),
            nonce=self.nonce,
            access_token=self.access_token,
        )
        return request

    def __repr__(self) -> str:
        return "DPoPAuth(...)"
