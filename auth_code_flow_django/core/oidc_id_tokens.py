"""OpenID Connect ``id_token`` validation (OpenID Connect Core 1.0, 3.1.3.7 and 12.2).

PyJWT verifies the signature and the registered claims; this module decides which key
and algorithm it may use, checks what PyJWT does not (``azp``, ``nonce``, ``sub``) and
compares ``iss`` itself (:func:`check_issuer`).
Keys come from the caller (a JWKS it fetched through the bounded HTTP client): PyJWT
never fetches anything here. An ID token in a refresh reply is validated the same way
but for the nonce, then compared with what the original one said
(:func:`check_refreshed_claims`). Nothing here imports Django.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Collection, Mapping
from typing import Any

import jwt
from jwt.exceptions import InvalidKeyError, PyJWKError, PyJWKSetError, PyJWTError

from .errors import InvalidTokenResponseError
from .rfc6749_token_replies import json_too_deep

__all__ = [
    "ID_TOKEN_ALGORITHMS",
    "LEEWAY_SECONDS",
    "IDTokenSubjectMismatchError",
    "InvalidIDTokenError",
    "check_issuer",
    "check_refreshed_claims",
    "is_tenant_issuer",
    "make_nonce",
    "nonce_digest",
    "usable_keys",
    "validate_id_token",
]

#: Asymmetric algorithms only: never ``none``, never an HMAC, whose "secret" would be
#: the server's public key for whoever knows the JWKS.
ID_TOKEN_ALGORITHMS: tuple[str, ...] = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
#: Clock skew allowed on ``exp``, ``iat`` and ``nbf``.
LEEWAY_SECONDS = 60
MAX_SUB_LENGTH = 255  # OpenID Connect Core 2
NONCE_BYTES = 32
_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
#: The placeholder of an issuer that serves many tenants, filled from the ID token's
#: ``tid`` claim (Microsoft Entra ID's ``common`` and ``organizations`` endpoints).
TENANT_PLACEHOLDER = "{tenantid}"
#: A tenant id as Microsoft Entra ID writes it in ``tid``: a GUID.
TENANT_ID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


class InvalidIDTokenError(InvalidTokenResponseError):
    """The ``id_token`` of a token reply is missing or fails a check. The message says
    which check, never the token or a claim's value."""

    error = "invalid_id_token"
    default_description = "The provider's ID token is not valid."


class IDTokenSubjectMismatchError(InvalidIDTokenError):
    """A valid ID token of a refresh reply names another subject (``sub``) than the
    ID token of the original authentication: the grant is not the connection's
    account's (OpenID Connect Core 12.2)."""

    default_description = (
        "The provider's refreshed ID token names another account than this connection's."
    )


def make_nonce() -> str:
    """A fresh ``nonce`` for an authentication request (256 bits from :mod:`secrets`)."""
    return secrets.token_urlsafe(NONCE_BYTES)


def nonce_digest(nonce: str) -> str:
    """What is kept of an original ID token's ``nonce`` to compare a refreshed one's
    with: its SHA-256, in hex (the nonce itself is single-use and never stored)."""
    return hashlib.sha256(nonce.encode("utf-8", "replace")).hexdigest()


def check_refreshed_claims(
    claims: Mapping[str, Any], *, subject: str, original_nonce_digest: str
) -> None:
    """Check the validated claims of an ID token from a refresh reply against the
    original ID token's ``subject`` and :func:`nonce_digest` of its nonce (``""``: it
    had none), as OpenID Connect Core 12.2 asks: the same ``sub``, and no ``nonce`` or
    the original one. ``iss`` and ``aud`` were checked by ``validate_id_token()``
    against the same issuer and client as the original's.

    Raises :class:`IDTokenSubjectMismatchError` for another subject, and
    :class:`InvalidIDTokenError` for another nonce.
    """
    if claims.get("sub") != subject:
        raise IDTokenSubjectMismatchError()
    received = claims.get("nonce")
    if received is None:
        return
    if (
        not isinstance(received, str)
        or not original_nonce_digest
        or not hmac.compare_digest(nonce_digest(received), original_nonce_digest)
    ):
        raise InvalidIDTokenError(
            "The refreshed ID token's nonce is not the original authentication's."
        )


def _segment(token: str, index: int) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidIDTokenError("The ID token is not a signed JWT (JWS compact form).")
    try:
        raw = base64.urlsafe_b64decode(parts[index] + "=" * (-len(parts[index]) % 4))
        text = raw.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise InvalidIDTokenError("The ID token is not valid base64url JSON.") from None
    if json_too_deep(text):
        raise InvalidIDTokenError("The ID token is nested too deeply.")
    try:
        value = json.loads(text)
    except ValueError:
        raise InvalidIDTokenError("The ID token is not valid base64url JSON.") from None
    if not isinstance(value, dict):
        raise InvalidIDTokenError("The ID token's header or claims are not a JSON object.")
    return value


def _compatible(jwk: Mapping[str, Any], alg: str, kid: object) -> bool:
    """Whether the JWK ``jwk`` may verify a signature made with ``alg``."""
    if kid is not None and jwk.get("kid") != kid:
        return False
    if jwk.get("use", "sig") != "sig":
        return False
    if jwk.get("alg") not in (None, alg):
        return False
    ops = jwk.get("key_ops")
    if isinstance(ops, list) and "verify" not in ops:
        return False
    if jwk.get("kty") != _KEY_TYPES.get(alg[:2]):
        return False
    return alg not in _CURVES or jwk.get("crv") == _CURVES[alg]


def usable_keys(jwks: Mapping[str, Any], alg: str, kid: object) -> list[jwt.PyJWK]:
    """The keys of ``jwks`` that may verify ``alg`` (with key id ``kid`` when given)."""
    keys = jwks.get("keys")
    if not isinstance(keys, list):
        return []
    found = []
    for jwk in keys:
        if not isinstance(jwk, dict) or not _compatible(jwk, alg, kid):
            continue
        try:
            found.append(jwt.PyJWK(jwk, algorithm=alg))
        except (PyJWKError, PyJWKSetError, InvalidKeyError, ValueError, TypeError):
            continue
    return found


def validate_id_token(
    id_token: object,
    *,
    jwks: Callable[[bool], Mapping[str, Any]],
    issuer: str,
    client_id: str,
    nonce: str | None,
    algorithms: Collection[str] = ID_TOKEN_ALGORITHMS,
    leeway: float = LEEWAY_SECONDS,
    issuer_aliases: Collection[str] = (),
    allowed_tenants: Collection[str] | None = None,
) -> dict[str, Any]:
    """The claims of ``id_token`` once every check of OpenID Connect Core 3.1.3.7 passed.

    ``iss`` is checked by :func:`check_issuer` (with ``issuer_aliases`` and
    ``allowed_tenants``).

    ``jwks(refresh)`` returns the server's JWK Set; it is called with ``False`` first
    (a cached set is fine) and, when no key has the token's ``kid``, once more with
    ``True`` (fetch it again: the server may have rotated its keys). ``algorithms``
    may only narrow :data:`ID_TOKEN_ALGORITHMS`. When ``nonce`` is given the token
    must carry it. Raises :class:`InvalidIDTokenError`.
    """
    if not isinstance(id_token, str) or not id_token:
        raise InvalidIDTokenError("The token reply has no ID token.")
    header = _segment(id_token, 0)
    _segment(id_token, 1)
    alg = header.get("alg")
    allowed = [a for a in algorithms if a in ID_TOKEN_ALGORITHMS]
    if not isinstance(alg, str) or alg not in allowed:
        shown = alg if isinstance(alg, str) and alg.isalnum() and len(alg) < 16 else "?"
        raise InvalidIDTokenError(f"The ID token's algorithm ({shown}) is not allowed.")
    if "crit" in header:
        raise InvalidIDTokenError("The ID token has critical header parameters.")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise InvalidIDTokenError("The ID token's key id is not a string.")
    keys = usable_keys(jwks(False), alg, kid)
    if not keys and kid is not None:
        keys = usable_keys(jwks(True), alg, kid)
    if not keys:
        raise InvalidIDTokenError("No key of the provider's JWKS can verify the ID token.")
    # PyJWT checks a fixed issuer (a template's value is known only from the token's
    # tid), and our own exact comparison follows whatever PyJWT did (PyJWT 2.10.0 took
    # a substring of the expected issuer for it, CVE-2024-53861).
    expected: str | list[str] | None = [issuer, *issuer_aliases] if issuer_aliases else issuer
    if TENANT_PLACEHOLDER in issuer:
        expected = None
    claims = _verified_claims(id_token, keys, alg, expected, client_id, leeway)
    check_issuer(claims, issuer, aliases=issuer_aliases, allowed_tenants=allowed_tenants)
    _check_other_claims(claims, client_id, nonce)
    return claims


def _issuer_matches(claimed: object, expected: str) -> bool:
    """Whether an ID token's ``iss`` claim names the ``expected`` issuer: the same
    string, character for character (OpenID Connect Core 3.1.3.7, item 2)."""
    return isinstance(claimed, str) and claimed == expected


def _verified_claims(
    id_token: str,
    keys: list[jwt.PyJWK],
    alg: str,
    issuer: str | list[str] | None,
    client_id: str,
    leeway: float,
) -> dict[str, Any]:
    failure: PyJWTError | None = None
    for key in keys[:8]:
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key,
                algorithms=[alg],
                audience=client_id,
                issuer=issuer,
                leeway=leeway,
                options={"require": ["iss", "sub", "aud", "exp", "iat"], "verify_sub": False},
            )
        except jwt.InvalidSignatureError as exc:
            failure = exc
            continue
        except jwt.ExpiredSignatureError:
            raise InvalidIDTokenError("The ID token has expired.") from None
        except jwt.ImmatureSignatureError:
            raise InvalidIDTokenError("The ID token is issued in the future.") from None
        except jwt.InvalidAudienceError:
            raise InvalidIDTokenError("The ID token is not for this client (aud).") from None
        except jwt.InvalidIssuerError:
            raise InvalidIDTokenError("The ID token comes from another issuer (iss).") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidIDTokenError(f"The ID token has no {exc.claim} claim.") from None
        except (PyJWTError, ValueError, TypeError, OverflowError):
            raise InvalidIDTokenError("The ID token is malformed.") from None
        return claims
    assert failure is not None
    raise InvalidIDTokenError("The ID token's signature does not verify.")


def check_issuer(
    claims: Mapping[str, Any],
    issuer: str,
    *,
    aliases: Collection[str] = (),
    allowed_tenants: Collection[str] | None = None,
) -> None:
    """The ID token's ``iss`` must be ``issuer`` exactly, or one of ``aliases`` (the
    other spellings a provider documents: Google's ``accounts.google.com``).

    An ``issuer`` that names :data:`TENANT_PLACEHOLDER` serves many tenants: ``iss``
    must be that issuer with the token's own ``tid`` (a GUID) put in. With
    ``allowed_tenants`` (``None``: any), ``tid`` must be one of them.
    Raises :class:`InvalidIDTokenError`.
    """
    iss = claims.get("iss")
    tenant = claims.get("tid")
    expected = {issuer, *aliases}
    if TENANT_PLACEHOLDER in issuer and isinstance(tenant, str) and TENANT_ID.fullmatch(tenant):
        expected = {i.replace(TENANT_PLACEHOLDER, tenant) for i in expected}
    if not any(_issuer_matches(iss, e) for e in expected) or TENANT_PLACEHOLDER in str(iss):
        raise InvalidIDTokenError("The ID token comes from another issuer (iss).")
    if allowed_tenants is not None and not (
        isinstance(tenant, str) and tenant.lower() in {t.lower() for t in allowed_tenants}
    ):
        raise InvalidIDTokenError("The ID token's tenant (tid) is not allowed here.")


def is_tenant_issuer(value: object, issuer: str) -> bool:
    """Whether ``value`` is ``issuer`` with a tenant id put in its
    :data:`TENANT_PLACEHOLDER` (any tenant: which ones may connect is the ID token's
    check)."""
    if not isinstance(value, str) or TENANT_PLACEHOLDER not in issuer:
        return False
    before, _, after = issuer.partition(TENANT_PLACEHOLDER)
    tenant = value[len(before) : len(value) - len(after)]
    return value.startswith(before) and value.endswith(after) and bool(TENANT_ID.fullmatch(tenant))


def _check_other_claims(claims: Mapping[str, Any], client_id: str, nonce: str | None) -> None:
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != client_id:
        raise InvalidIDTokenError("The ID token was not issued to this client (azp).")
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub or len(sub) > MAX_SUB_LENGTH or _CONTROL.search(sub):
        raise InvalidIDTokenError("The ID token's subject (sub) is not a usable identifier.")
    if nonce is None:
        return
    received = claims.get("nonce")
    if not isinstance(received, str):
        raise InvalidIDTokenError("The ID token has no nonce.")
    if not hmac.compare_digest(received.encode("utf-8", "replace"), nonce.encode("utf-8")):
        raise InvalidIDTokenError("The ID token's nonce is not this request's.")
