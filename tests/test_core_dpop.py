"""DPoP (auth_code_flow_django.core.rfc9449_dpop): keys, proofs checked with the public
key in their header as a server would, nonces and the one retry."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import jwt
import pytest
import requests
import responses

from auth_code_flow_django.core import rfc9449_dpop as dpop
from auth_code_flow_django.core.rfc7638_thumbprints import b64url, thumbprint


def check_proof(proof: str, key: dpop.DPoPKey) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of ``proof``, verified with the key its header carries
    (RFC 9449 4.3), which must be ``key``'s public key."""
    header = jwt.get_unverified_header(proof)
    assert header["typ"] == "dpop+jwt"
    assert header["jwk"] == key.public_jwk
    assert "d" not in header["jwk"]
    public = jwt.PyJWK(header["jwk"], algorithm=header["alg"])
    claims = jwt.decode(proof, public.key, algorithms=[key.algorithm])
    return header, claims


@pytest.mark.parametrize("algorithm", dpop.DPOP_ALGORITHMS)
def test_a_proof_verifies_with_its_key(algorithm: str) -> None:
    key = dpop.DPoPKey.generate(algorithm)
    header, claims = check_proof(key.proof("post", "https://as.example/token"), key)
    assert header["alg"] == algorithm
    assert claims["htm"] == "POST"
    assert claims["htu"] == "https://as.example/token"
    assert abs(claims["iat"] - time.time()) <= 2
    assert "ath" not in claims
    assert "nonce" not in claims


def test_htu_has_no_query_or_fragment() -> None:
    key = dpop.DPoPKey.generate()
    _, claims = check_proof(key.proof("GET", "https://api.example/v1/me?fields=a#top"), key)
    assert claims["htu"] == "https://api.example/v1/me"


def test_ath_is_the_hash_of_the_access_token_and_the_nonce_is_carried() -> None:
    key = dpop.DPoPKey.generate()
    _, claims = check_proof(
        key.proof("GET", "https://api.example/", access_token="tok-123", nonce="n-1"), key
    )
    assert claims["ath"] == b64url(hashlib.sha256(b"tok-123").digest())
    assert claims["nonce"] == "n-1"


def test_no_two_proofs_share_a_jti() -> None:
    key = dpop.DPoPKey.generate()
    jtis = {check_proof(key.proof("GET", "https://a.example/"), key)[1]["jti"] for _ in range(100)}
    assert len(jtis) == 100


def test_a_stored_key_is_the_same_key() -> None:
    key = dpop.DPoPKey.generate()
    again = dpop.DPoPKey.from_json(key.to_json())
    assert again.thumbprint == key.thumbprint
    check_proof(again.proof("GET", "https://a.example/"), key)


def test_the_thumbprint_is_rfc7638_of_the_public_key() -> None:
    key = dpop.DPoPKey.generate()
    public = key.public_jwk
    canonical = json.dumps(
        {"crv": public["crv"], "kty": "EC", "x": public["x"], "y": public["y"]},
        separators=(",", ":"),
    )
    assert key.thumbprint == b64url(hashlib.sha256(canonical.encode()).digest())
    assert key.thumbprint == thumbprint(public)


def test_the_repr_shows_no_private_key() -> None:
    key = dpop.DPoPKey.generate()
    private = json.loads(key.to_json())["jwk"]["d"]
    assert private not in repr(key)
    assert repr(key) == f"<DPoPKey alg='ES256' jkt={key.thumbprint!r}>"
    auth = dpop.DPoPAuth("secret-access-token", key)
    assert repr(auth) == "DPoPAuth(...)"


def test_an_unsupported_algorithm_is_refused() -> None:
    with pytest.raises(ValueError, match="Unsupported"):
        dpop.DPoPKey.generate("HS256")
    stored = json.loads(dpop.DPoPKey.generate().to_json())
    with pytest.raises(ValueError, match="Unsupported"):
        dpop.DPoPKey(stored["jwk"], "HS256")


@pytest.mark.parametrize(
    ("supported", "chosen"),
    [
        (None, "ES256"),
        (["RS256", "ES256"], "ES256"),
        (["RS256", "EdDSA"], "EdDSA"),
        (["PS256"], "PS256"),
        (["HS256"], None),
    ],
)
def test_the_algorithm_follows_the_server(supported: list[str] | None, chosen: str | None) -> None:
    assert dpop.choose_algorithm(supported) == chosen


def reply(
    status: int, headers: dict[str, str] | None = None, body: Any = None
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    response._content = json.dumps(body).encode() if body is not None else b""
    return response


def test_nonce_challenges() -> None:
    assert dpop.nonce_challenge(reply(400, body={"error": "use_dpop_nonce"}))
    assert not dpop.nonce_challenge(reply(400, body={"error": "invalid_grant"}))
    assert not dpop.nonce_challenge(reply(400, body=["use_dpop_nonce"]))
    assert not dpop.nonce_challenge(reply(400))
    response = reply(400)
    response._content = b"not json"
    assert not dpop.nonce_challenge(response)
    assert dpop.nonce_challenge(
        reply(401, {"WWW-Authenticate": 'DPoP error="use_dpop_nonce", algs="ES256"'})
    )
    assert not dpop.nonce_challenge(
        reply(401, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
    )
    assert not dpop.nonce_challenge(reply(200, body={"error": "use_dpop_nonce"}))


def test_the_nonce_store_keeps_the_latest_valid_nonce_per_origin() -> None:
    store = dpop.NonceStore(size=2)
    assert store.remember("https://a.example/token", reply(200, {"DPoP-Nonce": "n1"})) == "n1"
    assert store.get("https://A.example/other?q") == "n1"
    assert store.remember("https://a.example/", reply(200, {"DPoP-Nonce": "bad nonce"})) is None
    assert store.remember("https://a.example/", reply(200)) is None
    assert store.get("https://a.example/") == "n1"
    store.remember("https://b.example/", reply(200, {"DPoP-Nonce": "n2"}))
    store.remember("https://c.example/", reply(200, {"DPoP-Nonce": "n3"}))
    assert store.get("https://a.example/") is None  # the oldest went
    assert store.get("https://c.example/") == "n3"


@responses.activate
def test_send_with_proof_retries_once_with_the_server_nonce() -> None:
    url = "https://as.example/token"
    responses.post(
        url, status=400, json={"error": "use_dpop_nonce"}, headers={"DPoP-Nonce": "first"}
    )
    responses.post(url, json={"ok": True}, headers={"DPoP-Nonce": "second"})
    key, store = dpop.DPoPKey.generate(), dpop.NonceStore()
    retries: list[bool] = []

    def send(headers: dict[str, str], retry: bool) -> requests.Response:
        retries.append(retry)
        return requests.post(url, headers=headers)

    response = dpop.send_with_proof(key, store, "POST", url, send)
    assert response.status_code == 200
    assert retries == [False, True]
    first, second = (check_proof(c.request.headers["DPoP"], key)[1] for c in responses.calls)
    assert "nonce" not in first
    assert second["nonce"] == "first"
    assert first["jti"] != second["jti"]
    assert store.get(url) == "second"


@responses.activate
def test_a_nonce_loop_stops_after_one_retry() -> None:
    url = "https://as.example/token"
    responses.post(
        url, status=400, json={"error": "use_dpop_nonce"}, headers={"DPoP-Nonce": "again"}
    )
    key = dpop.DPoPKey.generate()
    response = dpop.send_with_proof(
        key, dpop.NonceStore(), "POST", url, lambda h, r: requests.post(url, headers=h)
    )
    assert response.status_code == 400
    assert len(responses.calls) == 2


@responses.activate
def test_a_challenge_without_a_nonce_is_not_retried() -> None:
    url = "https://as.example/token"
    responses.post(url, status=400, json={"error": "use_dpop_nonce"})
    key = dpop.DPoPKey.generate()
    dpop.send_with_proof(
        key, dpop.NonceStore(), "POST", url, lambda h, r: requests.post(url, headers=h)
    )
    assert len(responses.calls) == 1


@responses.activate
def test_the_auth_sends_the_token_as_dpop_with_a_proof_per_request() -> None:
    url = "https://api.example/me?x=1"
    responses.get(url)
    key = dpop.DPoPKey.generate()
    auth = dpop.DPoPAuth("tok-abc", key, nonce="n-9")
    requests.get(url, auth=auth)
    requests.get(url, auth=auth)
    proofs = []
    for call in responses.calls:
        assert call.request.headers["Authorization"] == "DPoP tok-abc"
        _, claims = check_proof(call.request.headers["DPoP"], key)
        assert claims["htm"] == "GET"
        assert claims["htu"] == "https://api.example/me"
        assert claims["ath"] == dpop.access_token_hash("tok-abc")
        assert claims["nonce"] == "n-9"
        proofs.append(claims["jti"])
    assert proofs[0] != proofs[1]
