"""OpenID Connect through the views: the nonce, and every bad ID token a 502 with
nothing stored and the state consumed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from auth_code_flow_django import models as models_module
from auth_code_flow_django.crypto import decrypt
from auth_code_flow_django.flow import TokenResponse
from auth_code_flow_django.models import OAuthState, OAuthToken

from .conftest import start, token_json
from .oidc import (
    CLIENT_ID,
    JWKS_URL,
    OPENID_URL,
    RFC8414_URL,
    TOKEN_URL,
    SigningKey,
    claims,
    compact,
    document,
    hs256_with,
    jwks,
    provider_settings,
)

User = get_user_model()

KEY = SigningKey("key-1")
CALLBACK = "/oauth/idp/callback/"


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def idp(settings: Any, mocked: responses.RequestsMock) -> responses.RequestsMock:
    settings.OAUTH_PROVIDERS = {"idp": provider_settings()}
    mocked.get(RFC8414_URL, status=404)
    mocked.get(OPENID_URL, json=document())
    mocked.get(JWKS_URL, json=jwks(KEY))
    return mocked


def callback(
    client: Client,
    mocked: responses.RequestsMock,
    make_id_token: Callable[[dict[str, str]], str | None],
    params: dict[str, str] | None = None,
) -> Any:
    """Complete a flow whose token reply carries ``make_id_token(authorize params)``."""
    params = params or start(client, "idp")
    mocked.upsert(
        responses.POST,
        TOKEN_URL,
        json=token_json(id_token=make_id_token(params), scope="openid profile"),
    )
    return client.get(CALLBACK, {"state": params["state"], "code": "c"})


def assert_refused(response: Any, text: str) -> None:
    assert response.status_code == 502
    assert text in response.content.decode()
    assert OAuthToken.objects.count() == 0
    assert OAuthState.objects.get().used_at is not None


def jwks_fetches(mocked: responses.RequestsMock) -> int:
    return sum(1 for call in mocked.calls if call.request.url == JWKS_URL)


def test_the_nonce_is_sent_and_kept_only_encrypted(alice: Client, idp: Any) -> None:
    params = start(alice, "idp")
    assert len(params["nonce"]) >= 43
    state = OAuthState.objects.get()
    assert params["nonce"] not in state.nonce_encrypted
    assert decrypt(state.nonce_encrypted) == params["nonce"]
    assert params["nonce"] not in repr(state)


def test_each_flow_has_its_own_nonce(alice: Client, idp: Any) -> None:
    assert start(alice, "idp")["nonce"] != start(alice, "idp")["nonce"]


def test_no_nonce_without_openid(alice: Client, settings: Any, idp: Any) -> None:
    settings.OAUTH_PROVIDERS = {"idp": provider_settings(scope="profile")}
    assert "nonce" not in start(alice, "idp")
    assert OAuthState.objects.get().nonce is None


def test_a_good_id_token_connects_and_passes_its_claims_on(
    alice: Client, user: User, idp: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[TokenResponse] = []
    store = models_module.OAuthTokenQuerySet.store

    def spy(
        self: Any, user: Any, provider: str, result: TokenResponse, **kwargs: Any
    ) -> OAuthToken:
        seen.append(result)
        return store(self, user, provider, result, **kwargs)

    monkeypatch.setattr(models_module.OAuthTokenQuerySet, "store", spy)
    response = callback(alice, idp, lambda p: KEY.sign(claims(p["nonce"])))
    assert response.status_code == 302
    assert OAuthToken.objects.get(user=user, provider="idp").access_token
    claims_seen = seen[0].id_token_claims
    assert claims_seen is not None
    assert claims_seen["sub"] == "248289761001"
    assert claims_seen["preferred_username"] == "alice.idp"
    assert "248289761001" not in repr(seen[0])
    # Who is connected: the ID token's subject and preferred username.
    token = OAuthToken.objects.get(user=user, provider="idp")
    assert (token.account_id, token.account_name) == ("248289761001", "alice.idp")
    assert "'sub'" in repr(seen[0])


def test_bad_signature(alice: Client, idp: Any) -> None:
    forger = SigningKey("attacker")
    response = callback(alice, idp, lambda p: forger.sign(claims(p["nonce"]), kid=KEY.kid))
    assert_refused(response, "signature does not verify")


def test_alg_none(alice: Client, idp: Any) -> None:
    response = callback(
        alice, idp, lambda p: compact({"alg": "none", "kid": KEY.kid}, claims(p["nonce"]))
    )
    assert_refused(response, "algorithm (none) is not allowed")


def test_hs256_signed_with_the_public_key(alice: Client, idp: Any) -> None:
    response = callback(
        alice, idp, lambda p: hs256_with(KEY.public_pem(), claims(p["nonce"]), KEY.kid)
    )
    assert_refused(response, "algorithm (HS256) is not allowed")


def test_wrong_aud(alice: Client, idp: Any) -> None:
    response = callback(alice, idp, lambda p: KEY.sign(claims(p["nonce"], aud="other-client")))
    assert_refused(response, "not for this client")


def test_wrong_iss(alice: Client, idp: Any) -> None:
    response = callback(
        alice, idp, lambda p: KEY.sign(claims(p["nonce"], iss="https://evil.example"))
    )
    assert_refused(response, "another issuer")


def test_expired(alice: Client, idp: Any) -> None:
    response = callback(alice, idp, lambda p: KEY.sign(claims(p["nonce"], exp=1_700_000_000)))
    assert_refused(response, "has expired")


def test_nonce_missing(alice: Client, idp: Any) -> None:
    response = callback(alice, idp, lambda p: KEY.sign(claims(None)))
    assert_refused(response, "has no nonce")


def test_nonce_replayed_from_another_flow(alice: Client, idp: Any) -> None:
    first = start(alice, "idp")
    second = start(alice, "idp")
    response = callback(alice, idp, lambda p: KEY.sign(claims(first["nonce"])), params=second)
    assert response.status_code == 502
    assert "nonce is not this request" in response.content.decode()
    assert OAuthToken.objects.count() == 0
    assert OAuthState.objects.filter(used_at__isnull=False).count() == 1


def test_no_id_token_in_the_reply(alice: Client, idp: Any) -> None:
    assert_refused(callback(alice, idp, lambda p: None), "has no ID token")


def test_unknown_kid_refetches_the_keys_once_then_fails(alice: Client, idp: Any) -> None:
    stranger = SigningKey("key-unknown")
    response = callback(alice, idp, lambda p: stranger.sign(claims(p["nonce"])))
    assert_refused(response, "No key")
    assert jwks_fetches(idp) == 2


def test_key_rotation_succeeds(alice: Client, user: User, idp: responses.RequestsMock) -> None:
    assert callback(alice, idp, lambda p: KEY.sign(claims(p["nonce"]))).status_code == 302
    assert jwks_fetches(idp) == 1
    # The provider rotates its key; the cached JWK Set does not know the new kid.
    new = SigningKey("key-2")
    idp.upsert(responses.GET, JWKS_URL, json=jwks(new))
    response = callback(alice, idp, lambda p: new.sign(claims(p["nonce"])))
    assert response.status_code == 302
    assert jwks_fetches(idp) == 2
    # The new set is cached: the next flow fetches nothing.
    assert callback(alice, idp, lambda p: new.sign(claims(p["nonce"]))).status_code == 302
    assert jwks_fetches(idp) == 2


def test_the_jwks_endpoint_failing_is_a_502(alice: Client, idp: responses.RequestsMock) -> None:
    idp.upsert(responses.GET, JWKS_URL, status=500)
    response = callback(alice, idp, lambda p: KEY.sign(claims(p["nonce"])))
    assert_refused(response, "HTTP 500")


def test_a_failing_jwks_endpoint_is_asked_once_while_its_failure_is_remembered(
    alice: Client, idp: responses.RequestsMock
) -> None:
    idp.upsert(responses.GET, JWKS_URL, status=500)
    for _ in range(3):
        response = callback(alice, idp, lambda p: KEY.sign(claims(p["nonce"])))
        assert response.status_code == 502
        assert "HTTP 500" in response.content.decode()
    assert jwks_fetches(idp) == 1
    assert OAuthToken.objects.count() == 0


def test_id_token_of_a_refresh_is_not_trusted_blindly(
    alice: Client, user: User, idp: responses.RequestsMock
) -> None:
    from auth_code_flow_django import tokens

    assert callback(alice, idp, lambda p: KEY.sign(claims(p["nonce"]))).status_code == 302
    OAuthToken.objects.update(expires_at=timezone.now() - timedelta(days=1))
    idp.upsert(
        responses.POST,
        TOKEN_URL,
        json=token_json(access_token="refreshed-access-token", id_token="not-a-jwt"),
    )
    assert tokens.get_access_token(user, "idp") == "refreshed-access-token"
    sent = parse_qs(idp.calls[-1].request.body)
    assert sent["grant_type"] == ["refresh_token"]
    assert sent["client_id"] == [CLIENT_ID]


def test_the_authorization_request_goes_to_the_discovered_endpoint(
    alice: Client, idp: Any
) -> None:
    response = alice.post("/oauth/idp/authorize/")
    location = urlsplit(response["Location"])
    assert (
        f"{location.scheme}://{location.netloc}{location.path}"
        == document()["authorization_endpoint"]
    )


def test_rotating_keys_re_encrypts_the_nonce(user: User) -> None:
    from io import StringIO

    from django.core.management import call_command
    from django.test import override_settings

    old = "old-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
    new = "new-secret-key-9876543210-zyxwvutsrqponmlkjihgfedcba"
    with override_settings(SECRET_KEY=old):
        OAuthState.objects.start(user, "idp", "https://app/cb", nonce="the-nonce-of-this-flow")
    with override_settings(SECRET_KEY=new, SECRET_KEY_FALLBACKS=[old]):
        call_command("oauth_rotate_keys", stdout=StringIO())
    with override_settings(SECRET_KEY=new, SECRET_KEY_FALLBACKS=[]):
        assert OAuthState.objects.get().nonce == "the-nonce-of-this-flow"
