"""ID token checks of the core (OpenID Connect Core 3.1.3.7 and 12.2), without Django."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from typing import Any

import jwt
import pytest

from auth_code_flow_django.core.oidc_id_tokens import (
    IDTokenSubjectMismatchError,
    InvalidIDTokenError,
    check_refreshed_claims,
    make_nonce,
    nonce_digest,
    usable_keys,
    validate_id_token,
)

from .oidc import CLIENT_ID, ISSUER, SigningKey, claims, compact, hs256_with, jwks

NONCE = "nonce-of-this-flow-0123456789"
KEY = SigningKey("key-1")


def served(*sets: Mapping[str, Any]) -> tuple[Callable[[bool], Mapping[str, Any]], list[bool]]:
    """A JWKS source answering ``sets`` in turn; records each call's ``refresh``."""
    calls: list[bool] = []

    def source(refresh: bool) -> Mapping[str, Any]:
        calls.append(refresh)
        return sets[min(len(calls), len(sets)) - 1]

    return source, calls


def check(token: object, *, keys: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
    source, _calls = served(keys if keys is not None else jwks(KEY))
    options: dict[str, Any] = {"issuer": ISSUER, "client_id": CLIENT_ID, "nonce": NONCE}
    options.update(kwargs)
    return validate_id_token(token, jwks=source, **options)


def refused(token: object, match: str, **kwargs: Any) -> None:
    with pytest.raises(InvalidIDTokenError, match=match) as info:
        check(token, **kwargs)
    assert NONCE not in str(info.value)


def test_a_good_token_gives_its_claims() -> None:
    result = check(KEY.sign(claims(NONCE)))
    assert result["sub"] == "248289761001"
    assert result["preferred_username"] == "alice.idp"


def test_an_es256_token_verifies() -> None:
    key = SigningKey("ec-1", "ES256")
    assert check(key.sign(claims(NONCE)), keys=jwks(KEY, key))["sub"]


def test_a_token_signed_by_another_key_is_refused() -> None:
    forged = SigningKey("attacker").sign(claims(NONCE), kid=KEY.kid)
    refused(forged, "signature does not verify")


def test_a_tampered_payload_is_refused() -> None:
    header, _payload, signature = KEY.sign(claims(NONCE)).split(".")
    other = base64.urlsafe_b64encode(json.dumps(claims(NONCE, sub="admin")).encode())
    refused(f"{header}.{other.rstrip(b'=').decode()}.{signature}", "signature")


def test_alg_none_is_refused() -> None:
    refused(compact({"alg": "none", "kid": KEY.kid}, claims(NONCE)), r"algorithm \(none\)")


def test_hs256_keyed_with_the_public_key_is_refused() -> None:
    forged = hs256_with(KEY.public_pem(), claims(NONCE), KEY.kid)
    refused(forged, r"algorithm \(HS256\)")


def test_hs256_is_refused_even_when_the_caller_allows_it() -> None:
    forged = hs256_with(KEY.public_pem(), claims(NONCE), KEY.kid)
    refused(forged, r"algorithm \(HS256\)", algorithms=("HS256", "RS256"))


def test_a_key_is_never_used_with_another_algorithm_than_its_own() -> None:
    # An RSA key whose JWK says RS256 cannot verify a PS256 signature, and an RSA key
    # can never verify ES256.
    assert usable_keys(jwks(KEY), "PS256", KEY.kid) == []
    assert usable_keys(jwks(KEY), "ES256", KEY.kid) == []
    encryption_key = {**KEY.jwk(), "use": "enc"}
    assert usable_keys({"keys": [encryption_key]}, "RS256", KEY.kid) == []
    assert len(usable_keys(jwks(KEY), "RS256", KEY.kid)) == 1


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"aud": "another-client"}, r"not for this client \(aud\)"),
        ({"aud": ["another-client", "third"]}, r"\(aud\)"),
        ({"iss": "https://evil.example/realms/main"}, r"another issuer \(iss\)"),
        ({"iss": ISSUER + "/"}, r"\(iss\)"),
        ({"exp": 1_000_000_000}, "expired"),
        ({"iat": 4_000_000_000}, "issued in the future"),
        ({"nbf": 4_000_000_000}, "malformed|future"),
        ({"exp": None}, "no exp claim"),
        ({"iat": None}, "no iat claim"),
        ({"sub": None}, "no sub claim"),
        ({"sub": ""}, r"subject \(sub\)"),
        ({"sub": "x" * 256}, r"subject \(sub\)"),
        ({"sub": "a\nb"}, r"subject \(sub\)"),
        ({"nonce": None}, "has no nonce"),
        ({"nonce": "nonce-of-another-flow"}, "nonce is not this request's"),
        ({"aud": [CLIENT_ID, "other"]}, r"\(azp\)"),
        ({"aud": [CLIENT_ID, "other"], "azp": "other"}, r"\(azp\)"),
        ({"azp": "other"}, r"\(azp\)"),
    ],
)
def test_a_bad_claim_is_refused(overrides: dict[str, Any], match: str) -> None:
    refused(KEY.sign(claims(NONCE, **overrides)), match)


#: Issuers that are not ISSUER but share a substring with it, either way round: what
#: an issuer check with ``in`` for ``==`` lets through (PyJWT 2.10.0, CVE-2024-53861,
#: took a part of the expected issuer).
NEAR_ISSUERS = [
    ISSUER + ".evil",
    ISSUER + "/",
    ISSUER[:-1],
    "https://idp.example",
    "",
    [ISSUER],
    [ISSUER, "https://evil.example"],
]


def signed_with_issuer(iss: object) -> str:
    """A good ID token but for its ``iss``, of any JSON type (PyJWT only encodes a string)."""
    payload = json.dumps(claims(NONCE, iss=iss)).encode()
    return jwt.api_jws.encode(payload, KEY.private, algorithm="RS256", headers={"kid": KEY.kid})


@pytest.mark.parametrize("iss", [*NEAR_ISSUERS, "https://idp.example.evil/realms/main"], ids=repr)
def test_an_issuer_close_to_ours_is_refused(iss: object) -> None:
    refused(signed_with_issuer(iss), r"another issuer \(iss\)")


def lax_issuer_check(self: object, payload: dict[str, Any], issuer: object) -> None:
    """PyJWT's issuer check with the bug of 2.10.0 (``in`` for ``==``), made laxer
    still: a substring either way round, or a list holding it, passes."""
    claimed = payload.get("iss")
    if isinstance(claimed, list) and issuer in claimed:
        return
    if (
        isinstance(claimed, str)
        and isinstance(issuer, str)
        and (claimed in issuer or issuer in claimed)
    ):
        return
    raise jwt.InvalidIssuerError("Invalid issuer")


@pytest.mark.parametrize("iss", NEAR_ISSUERS, ids=repr)
def test_our_own_issuer_check_refuses_what_a_lax_pyjwt_lets_through(
    iss: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jwt.api_jwt.PyJWT, "_validate_iss", lax_issuer_check)
    token = signed_with_issuer(iss)
    (key,) = usable_keys(jwks(KEY), "RS256", KEY.kid)
    # The patched PyJWT takes it...
    assert jwt.decode(token, key, algorithms=["RS256"], audience=CLIENT_ID, issuer=ISSUER)
    # ...and our own check still refuses it.
    refused(token, r"another issuer \(iss\)")
    assert check(KEY.sign(claims(NONCE)))["iss"] == ISSUER


def test_several_audiences_with_our_azp_are_accepted() -> None:
    token = KEY.sign(claims(NONCE, aud=[CLIENT_ID, "other"], azp=CLIENT_ID))
    assert check(token)["azp"] == CLIENT_ID


def test_a_little_clock_skew_is_tolerated() -> None:
    token = KEY.sign(claims(NONCE, iat=int(__import__("time").time()) + 30))
    assert check(token)["sub"]


def test_no_nonce_expected_accepts_a_token_without_one() -> None:
    assert check(KEY.sign(claims(None)), nonce=None)["sub"]


@pytest.mark.parametrize(
    "token",
    [None, "", 42, "a.b", "a.b.c.d", "!!!.!!!.!!!", compact({"alg": "RS256"}, {}) + "x"],
)
def test_malformed_tokens_are_refused(token: object) -> None:
    with pytest.raises(InvalidIDTokenError):
        check(token)


def test_a_deeply_nested_token_is_refused_before_parsing() -> None:
    deep = {"a": json.loads("[" * 100 + "]" * 100)}
    refused(compact({"alg": "RS256", "kid": KEY.kid}, deep), "nested too deeply")


def test_critical_header_parameters_are_refused() -> None:
    refused(KEY.sign(claims(NONCE), crit=["exp"]), "critical")


def test_an_unknown_kid_fetches_the_keys_again_once_then_fails() -> None:
    source, calls = served(jwks(KEY))
    token = SigningKey("key-unknown").sign(claims(NONCE))
    with pytest.raises(InvalidIDTokenError, match="No key"):
        validate_id_token(token, jwks=source, issuer=ISSUER, client_id=CLIENT_ID, nonce=NONCE)
    assert calls == [False, True]


def test_a_rotated_key_is_found_by_fetching_the_keys_again() -> None:
    new = SigningKey("key-2")
    source, calls = served(jwks(KEY), jwks(new))
    token = new.sign(claims(NONCE))
    result = validate_id_token(token, jwks=source, issuer=ISSUER, client_id=CLIENT_ID, nonce=NONCE)
    assert result["sub"]
    assert calls == [False, True]


def test_a_known_kid_does_not_fetch_the_keys_again() -> None:
    source, calls = served(jwks(KEY))
    validate_id_token(
        KEY.sign(claims(NONCE)), jwks=source, issuer=ISSUER, client_id=CLIENT_ID, nonce=NONCE
    )
    assert calls == [False]


def test_a_token_without_kid_is_checked_with_each_key_of_its_type() -> None:
    other = SigningKey("key-3")
    token = KEY.sign(claims(NONCE), kid=None)
    assert check(token, keys=jwks(other, KEY))["sub"]


def test_nonces_are_unpredictable() -> None:
    values = {make_nonce() for _ in range(50)}
    assert len(values) == 50
    assert all(len(v) >= 43 for v in values)


def test_messages_show_no_claim_value() -> None:
    token = KEY.sign(claims(NONCE, sub="secret-subject-value", aud="another-client"))
    with pytest.raises(InvalidIDTokenError) as info:
        check(token)
    assert "secret-subject-value" not in repr(info.value)
    assert "another-client" not in str(info.value)


def test_claims_that_are_not_an_object_are_refused() -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"RS256"}').rstrip(b"=").decode()
    array = base64.urlsafe_b64encode(b"[1, 2]").rstrip(b"=").decode()
    latin = base64.urlsafe_b64encode(b"\xff\xfe").rstrip(b"=").decode()
    refused(f"{header}.{array}.c2ln", "not a JSON object")
    refused(f"{header}.{latin}.c2ln", "not valid base64url JSON")


def test_a_non_string_kid_is_refused() -> None:
    token = compact({"alg": "RS256", "kid": 7}, claims(NONCE))
    refused(token, "key id is not a string")


@pytest.mark.parametrize(
    "keys",
    [
        {"keys": "not a list"},
        {"keys": [{**KEY.jwk(), "key_ops": ["encrypt"]}]},
        {"keys": [{**KEY.jwk(), "n": "!!"}]},
        {"keys": ["not a key"]},
        {},
    ],
)
def test_unusable_keys_are_skipped(keys: dict[str, Any]) -> None:
    refused(KEY.sign(claims(NONCE)), "No key", keys=keys)


# --- an ID token in a refresh reply (OpenID Connect Core 12.2) -------------------------


def refreshed(received: dict[str, Any], *, nonce: str | None = NONCE) -> None:
    """Check ``received`` against an original ID token of subject ``248289761001``
    that carried ``nonce``."""
    check_refreshed_claims(
        received,
        subject="248289761001",
        original_nonce_digest=nonce_digest(nonce) if nonce else "",
    )


def test_a_refreshed_token_of_the_same_subject_without_nonce_passes() -> None:
    refreshed(claims(None))
    refreshed(claims(None), nonce=None)


def test_a_refreshed_token_may_repeat_the_original_nonce() -> None:
    refreshed(claims(NONCE))


def test_a_refreshed_token_of_another_subject_is_refused_without_naming_either() -> None:
    with pytest.raises(IDTokenSubjectMismatchError) as info:
        refreshed(claims(None, sub="999"))
    assert isinstance(info.value, InvalidIDTokenError)
    assert "248289761001" not in str(info.value)
    assert "999" not in str(info.value)


@pytest.mark.parametrize(
    ("nonce", "original"),
    [
        ("another-flow-nonce", NONCE),
        # The original had none: a nonce cannot be its.
        (NONCE, None),
        (["not", "a", "string"], NONCE),
    ],
    ids=["another", "original-had-none", "not-a-string"],
)
def test_a_refreshed_token_with_another_nonce_is_refused(
    nonce: object, original: str | None
) -> None:
    with pytest.raises(InvalidIDTokenError, match="nonce is not the original") as info:
        refreshed(claims(None, nonce=nonce), nonce=original)
    assert NONCE not in str(info.value)


def test_the_nonce_digest_is_not_the_nonce() -> None:
    assert nonce_digest(NONCE) != NONCE
    assert NONCE not in nonce_digest(NONCE)
    assert len(nonce_digest(NONCE)) == 64


TENANT_A = "b9419818-09af-49c2-b0c3-653adc1f376e"
TENANT_B = "72f988bf-86f1-41af-91ab-2d7cd011db47"
TEMPLATE = "https://login.microsoftonline.com/{tenantid}/v2.0"


@pytest.mark.parametrize(
    ("iss", "tid", "allowed"),
    [
        (ISSUER, None, None),
        ("idp.example/realms/main", None, None),
        (f"https://login.microsoftonline.com/{TENANT_A}/v2.0", TENANT_A, None),
        (f"https://login.microsoftonline.com/{TENANT_A}/v2.0", TENANT_A, [TENANT_B, TENANT_A]),
        (f"https://login.microsoftonline.com/{TENANT_A}/v2.0", TENANT_A, [TENANT_A.upper()]),
    ],
)
def test_check_issuer_accepts(iss: str, tid: str | None, allowed: list[str] | None) -> None:
    from auth_code_flow_django.core.oidc_id_tokens import check_issuer

    issuer = TEMPLATE if tid else ISSUER
    check_issuer(
        {"iss": iss, "tid": tid},
        issuer,
        aliases=("idp.example/realms/main",),
        allowed_tenants=allowed,
    )


@pytest.mark.parametrize(
    ("claims_", "allowed", "message"),
    [
        (
            {"iss": f"https://login.microsoftonline.com/{TENANT_A}/v2.0", "tid": TENANT_B},
            None,
            "iss",
        ),
        ({"iss": f"https://login.microsoftonline.com/{TENANT_A}/v2.0"}, None, "iss"),
        ({"iss": TEMPLATE, "tid": "common"}, None, "iss"),
        ({"iss": TEMPLATE}, None, "iss"),
        ({"iss": "https://login.microsoftonline.com/x/y/v2.0", "tid": "x/y"}, None, "iss"),
        ({"iss": 7, "tid": TENANT_A}, None, "iss"),
        (
            {"iss": f"https://login.microsoftonline.com/{TENANT_A}/v2.0", "tid": TENANT_A},
            [TENANT_B],
            "tid",
        ),
    ],
)
def test_check_issuer_refuses(
    claims_: dict[str, Any], allowed: list[str] | None, message: str
) -> None:
    from auth_code_flow_django.core.oidc_id_tokens import InvalidIDTokenError, check_issuer

    with pytest.raises(InvalidIDTokenError, match=f"\\({message}\\)"):
        check_issuer(claims_, TEMPLATE, allowed_tenants=allowed)


def test_allowed_tenants_apply_to_a_fixed_issuer_too() -> None:
    from auth_code_flow_django.core.oidc_id_tokens import InvalidIDTokenError, check_issuer

    with pytest.raises(InvalidIDTokenError, match="tid"):
        check_issuer({"iss": ISSUER}, ISSUER, allowed_tenants=[TENANT_A])


@pytest.mark.parametrize(
    ("value", "issuer", "named"),
    [
        (f"https://login.microsoftonline.com/{TENANT_A}/v2.0", TEMPLATE, True),
        ("https://login.microsoftonline.com/common/v2.0", TEMPLATE, False),
        (f"https://login.example.net/{TENANT_A}/v2.0", TEMPLATE, False),
        (f"https://login.microsoftonline.com/{TENANT_A}/v2.0/x", TEMPLATE, False),
        (TEMPLATE, TEMPLATE, False),
        (None, TEMPLATE, False),
        (ISSUER, ISSUER, False),
    ],
)
def test_is_tenant_issuer(value: object, issuer: str, named: bool) -> None:
    from auth_code_flow_django.core.oidc_id_tokens import is_tenant_issuer

    assert is_tenant_issuer(value, issuer) is named
