"""DPoP (RFC 9449) as a provider option: a key pair per connection, kept encrypted with
the state and then with the tokens; proofs on every request to the server and the API."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.utils import timezone

from auth_code_flow_django import tokens
from auth_code_flow_django.core.rfc9449_dpop import NONCES, access_token_hash
from auth_code_flow_django.dpop_nonces import SHARED_NONCES
from auth_code_flow_django.exceptions import AuthCodeFlowError
from auth_code_flow_django.models import OAuthState, OAuthToken

from . import hardened
from .hardened import API, PAR, REVOKE, TOKEN, check_assertion, check_proof, dpop_token_json, form

pytestmark = pytest.mark.django_db

DPOP_ONLY = hardened.providers(
    dpop=True,
    pushed_authorization_requests=False,
    token_endpoint_auth_method="client_secret_post",
    client_secret="s3cret-value",
    client_private_key=None,
    client_previous_public_keys=[],
)


@pytest.fixture(autouse=True)
def _no_nonces() -> Any:
    SHARED_NONCES._nonces.clear()
    cache.clear()
    yield
    SHARED_NONCES._nonces.clear()
    cache.clear()


def authorize(client: Client) -> dict[str, str]:
    response = client.post("/oauth/hardened/authorize/")
    assert response.status_code == 302, response.content
    return {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}


def connect(client: Client, mocked: Any, **token: Any) -> dict[str, str]:
    query = authorize(client)
    mocked.post(TOKEN, json=dpop_token_json(**token))
    response = client.get("/oauth/hardened/callback/", {"state": query["state"], "code": "c"})
    assert response.status_code == 302, response.content
    return query


@override_settings(OAUTH_PROVIDERS=DPOP_ONLY)
def test_the_authorization_request_names_the_key_and_the_state_keeps_it_encrypted(
    alice: Client,
) -> None:
    query = authorize(alice)
    state = OAuthState.objects.get()
    key = state.dpop_key
    assert key is not None
    assert query["dpop_jkt"] == key.thumbprint
    private = json.loads(key.to_json())["jwk"]["d"]
    assert private not in state.dpop_key_encrypted
    assert key.algorithm == "ES256"


@override_settings(OAUTH_PROVIDERS=DPOP_ONLY)
def test_the_code_exchange_proves_the_key_and_the_token_keeps_it(
    alice: Client, mocked: Any
) -> None:
    query = connect(alice, mocked)
    claims = check_proof(mocked.calls[0], "POST", TOKEN, jkt=query["dpop_jkt"])
    assert "ath" not in claims
    token = OAuthToken.objects.get()
    assert token.token_type == "DPoP"
    assert token.dpop_key is not None
    assert token.dpop_key.thumbprint == query["dpop_jkt"]
    assert json.loads(token.dpop_key.to_json())["jwk"]["d"] not in token.dpop_key_encrypted


@override_settings(OAUTH_PROVIDERS=DPOP_ONLY)
@pytest.mark.parametrize("token_type", ["Bearer", None, "dpop-ish"])
def test_a_token_that_is_not_dpop_bound_is_refused(
    alice: Client, mocked: Any, token_type: str | None
) -> None:
    query = authorize(alice)
    mocked.post(TOKEN, json=dpop_token_json(token_type=token_type))
    response = alice.get("/oauth/hardened/callback/", {"state": query["state"], "code": "c"})
    assert response.status_code == 502
    assert b"DPoP-bound" in response.content
    assert not OAuthToken.objects.exists()


@override_settings(OAUTH_PROVIDERS=hardened.providers(pushed_authorization_requests=False))
def test_a_server_nonce_is_used_in_one_retry_with_a_new_assertion(
    alice: Client, mocked: Any
) -> None:
    query = authorize(alice)
    mocked.post(
        TOKEN,
        status=400,
        json={"error": "use_dpop_nonce"},
        headers={"DPoP-Nonce": "nonce-1"},
    )
    mocked.post(TOKEN, json=dpop_token_json(), headers={"DPoP-Nonce": "nonce-2"})
    response = alice.get("/oauth/hardened/callback/", {"state": query["state"], "code": "c"})
    assert response.status_code == 302
    first, second = mocked.calls
    assert "nonce" not in check_proof(first, "POST", TOKEN)
    assert check_proof(second, "POST", TOKEN, jkt=query["dpop_jkt"])["nonce"] == "nonce-1"
    assert check_proof(first, "POST", TOKEN)["jti"] != check_proof(second, "POST", TOKEN)["jti"]
    assertions = [check_assertion(form(call), TOKEN)["jti"] for call in (first, second)]
    assert assertions[0] != assertions[1]
    assert SHARED_NONCES.get(TOKEN) == "nonce-2"


@override_settings(OAUTH_PROVIDERS=DPOP_ONLY)
def test_a_nonce_loop_stops_after_one_retry(alice: Client, mocked: Any) -> None:
    query = authorize(alice)
    for number in range(3):
        mocked.post(
            TOKEN,
            status=400,
            json={"error": "use_dpop_nonce"},
            headers={"DPoP-Nonce": f"n-{number}"},
        )
    response = alice.get("/oauth/hardened/callback/", {"state": query["state"], "code": "c"})
    assert response.status_code == 502
    assert len(mocked.calls) == 2
    assert not OAuthToken.objects.exists()


@override_settings(OAUTH_PROVIDERS=DPOP_ONLY)
def test_the_api_gets_the_token_as_dpop_with_a_fresh_proof(
    alice: Client, user: Any, mocked: Any
) -> None:
    query = connect(alice, mocked)
    mocked.get(API, json={"me": 1})
    session = tokens.authorized_session(user, "hardened")
    session.get(API, params={"q": "1"})
    session.get(API)
    calls = [call for call in mocked.calls if call.request.url.startswith(API)]
    jtis = set()
    for call in calls:
        assert call.request.headers["Authorization"] == "DPoP dpop-access-token-0001"
        claims = check_proof(call, "GET", API, jkt=query["dpop_jkt"])
        assert claims["ath"] == access_token_hash("dpop-access-token-0001")
        jtis.add(claims["jti"])
    assert len(jtis) == 2


@override_settings(OAUTH_PROVIDERS=DPOP_ONLY)
def test_the_api_nonce_challenge_is_answered_once(alice: Client, user: Any, mocked: Any) -> None:
    connect(alice, mocked)
    challenge = {
        "status": 401,
        "headers": {"WWW-Authenticate": 'DPoP error="use_dpop_nonce"', "DPoP-Nonce": "rs-1"},
    }
    mocked.get(API, **challenge)
    mocked.get(API, json={"ok": True})
    response = tokens.authorized_session(user, "hardened").get(API)
    assert response.status_code == 200
    first, second = (call for call in mocked.calls if call.request.url == API)
    assert "nonce" not in check_proof(first, "GET", API)
    assert check_proof(second, "GET", API)["nonce"] == "rs-1"


@override_settings(OAUTH_PROVIDERS=DPOP_ONLY)
def test_an_api_nonce_loop_stops_without_a_refresh(alice: Client, user: Any, mocked: Any) -> None:
    connect(alice, mocked)
    for number in range(3):
        mocked.get(
            API,
            status=401,
            headers={
                "WWW-Authenticate": 'DPoP error="use_dpop_nonce"',
                "DPoP-Nonce": f"r{number}",
            },
        )
    response = tokens.authorized_session(user, "hardened").get(API)
    assert response.status_code == 401
    assert [call.request.url for call in mocked.calls[1:]] == [API, API]


@override_settings(OAUTH_PROVIDERS=DPOP_ONLY)
def test_a_refresh_and_the_removal_use_the_connection_key(
    alice: Client, user: Any, mocked: Any, django_capture_on_commit_callbacks: Any
) -> None:
    query = connect(alice, mocked)
    OAuthToken.objects.update(expires_at=timezone.now() - timedelta(seconds=5))
    mocked.post(TOKEN, json=dpop_token_json(access_token="dpop-access-token-0003"))
    assert tokens.get_access_token(user, "hardened") == "dpop-access-token-0003"
    check_proof(mocked.calls[1], "POST", TOKEN, jkt=query["dpop_jkt"])
    assert form(mocked.calls[1])["grant_type"] == "refresh_token"
    assert OAuthToken.objects.get().dpop_key.thumbprint == query["dpop_jkt"]
    mocked.post(REVOKE)
    with django_capture_on_commit_callbacks(execute=True):
        tokens.revoke(user, "hardened")
    revocations = [call for call in mocked.calls if call.request.url == REVOKE]
    assert len(revocations) == 2
    for call in revocations:
        check_proof(call, "POST", REVOKE, jkt=query["dpop_jkt"])


@override_settings(OAUTH_PROVIDERS=DPOP_ONLY)
def test_a_refresh_reply_that_drops_dpop_is_refused(alice: Client, user: Any, mocked: Any) -> None:
    connect(alice, mocked)
    OAuthToken.objects.update(expires_at=timezone.now() - timedelta(seconds=5))
    mocked.post(TOKEN, json=dpop_token_json(token_type="Bearer", access_token="bearer-9999"))
    with pytest.raises(AuthCodeFlowError, match="DPoP-bound"):
        tokens.get_access_token(user, "hardened")
    assert OAuthToken.objects.get().access_token == "dpop-access-token-0001"


@override_settings(OAUTH_PROVIDERS=hardened.providers())
def test_all_three_together(alice: Client, user: Any, mocked: Any) -> None:
    request_uri = "urn:ietf:params:oauth:request_uri:xyz"
    mocked.post(PAR, status=201, json={"request_uri": request_uri, "expires_in": 60})
    response = alice.post("/oauth/hardened/authorize/")
    assert response.status_code == 302
    assert "request_uri=" in response["Location"]
    assert "dpop_jkt" not in response["Location"]
    pushed = form(mocked.calls[0])
    check_assertion(pushed, hardened.TOKEN)
    check_proof(mocked.calls[0], "POST", PAR, jkt=pushed["dpop_jkt"])
    mocked.post(TOKEN, json=dpop_token_json())
    done = alice.get("/oauth/hardened/callback/", {"state": pushed["state"], "code": "c"})
    assert done.status_code == 302
    check_assertion(form(mocked.calls[1]), hardened.TOKEN)
    check_proof(mocked.calls[1], "POST", TOKEN, jkt=pushed["dpop_jkt"])
    assert OAuthToken.objects.get().token_type == "DPoP"


def test_a_server_without_a_usable_algorithm_cannot_be_connected(
    alice: Client, mocked: Any
) -> None:
    from django.core.cache import cache

    cache.clear()
    issuer = hardened.AS
    mocked.get(
        f"{issuer}/.well-known/oauth-authorization-server",
        json={
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": TOKEN,
            "dpop_signing_alg_values_supported": ["HS256"],
        },
    )
    entry = {"client_id": "c", "client_secret": "s", "issuer": issuer, "dpop": True}
    try:
        with override_settings(OAUTH_PROVIDERS={"disc": entry}):
            response = alice.post("/oauth/disc/authorize/")
    finally:
        cache.clear()
    assert response.status_code == 503
    assert b"dpop_signing_alg_values_supported" in response.content
    assert not OAuthState.objects.exists()


def test_the_key_is_rotated_with_the_tokens(alice: Client, mocked: Any) -> None:
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(OAUTH_PROVIDERS=DPOP_ONLY, AUTH_CODE_FLOW_ENCRYPTION_KEYS=[old]):
        connect(alice, mocked)
        before = OAuthToken.objects.get()
        assert before.dpop_key is not None
        thumbprint = before.dpop_key.thumbprint
    with override_settings(AUTH_CODE_FLOW_ENCRYPTION_KEYS=[new, old]):
        call_command("oauth_rotate_keys", verbosity=0)
    with override_settings(AUTH_CODE_FLOW_ENCRYPTION_KEYS=[new]):
        after = OAuthToken.objects.get()
        assert after.dpop_key_encrypted != before.dpop_key_encrypted
        assert after.dpop_key is not None
        assert after.dpop_key.thumbprint == thumbprint


@override_settings(OAUTH_PROVIDERS=DPOP_ONLY)
def test_the_admin_never_shows_a_dpop_key(
    alice: Client, mocked: Any, admin_client: Client
) -> None:
    connect(alice, mocked)
    authorize(alice)
    token = OAuthToken.objects.get()
    state = OAuthState.objects.get(used_at__isnull=True)
    pages = [
        admin_client.get(f"/admin/auth_code_flow_django/oauthtoken/{token.pk}/change/"),
        admin_client.get(f"/admin/auth_code_flow_django/oauthstate/{state.pk}/change/"),
        admin_client.get("/admin/auth_code_flow_django/oauthtoken/"),
    ]
    for page, stored in zip(pages, (token, state, token), strict=True):
        assert page.status_code == 200
        text = page.content.decode()
        key = stored.dpop_key
        assert key is not None
        assert stored.dpop_key_encrypted not in text
        assert json.loads(key.to_json())["jwk"]["d"] not in text


USERINFO = "https://as.example/userinfo"


@override_settings(
    OAUTH_PROVIDERS=hardened.providers(
        dpop=True,
        pushed_authorization_requests=False,
        token_endpoint_auth_method="client_secret_post",
        client_secret="s3cret-value",
        client_private_key=None,
        client_previous_public_keys=[],
        userinfo_endpoint=USERINFO,
    )
)
def test_who_connected_is_asked_with_the_dpop_token_and_a_proof(
    alice: Client, mocked: Any
) -> None:
    challenge = {"WWW-Authenticate": 'DPoP error="use_dpop_nonce"', "DPoP-Nonce": "ui-1"}
    mocked.get(USERINFO, status=401, headers=challenge)
    mocked.get(USERINFO, json={"sub": "acct-7", "name": "Alice"})
    query = connect(alice, mocked)
    first, second = (call for call in mocked.calls if call.request.url == USERINFO)
    for call in (first, second):
        assert call.request.headers["Authorization"] == "DPoP dpop-access-token-0001"
        claims = check_proof(call, "GET", USERINFO, jkt=query["dpop_jkt"])
        assert claims["ath"] == access_token_hash("dpop-access-token-0001")
    assert check_proof(second, "GET", USERINFO)["nonce"] == "ui-1"
    assert OAuthToken.objects.get().account_id == "acct-7"


def dpop_with_identity(**overrides: Any) -> dict[str, Any]:
    return hardened.providers(
        dpop=True,
        pushed_authorization_requests=False,
        client_private_key=None,
        client_previous_public_keys=[],
        userinfo_endpoint=USERINFO,
        **overrides,
    )


@pytest.mark.parametrize(
    ("client", "kept"),
    [
        # RFC 9449 5: a public client's refresh token is bound to the key it came with.
        ({"token_endpoint_auth_method": "none"}, None),
        # A confidential client's refresh token is bound to its authentication instead.
        (
            {"token_endpoint_auth_method": "client_secret_post", "client_secret": "s3cret-value"},
            "dpop-refresh-token-0002",
        ),
    ],
    ids=["public", "confidential"],
)
def test_a_reconnection_keeps_a_refresh_token_only_when_it_is_not_bound_to_the_old_key(
    alice: Client, mocked: Any, client: dict[str, Any], kept: str | None
) -> None:
    with override_settings(OAUTH_PROVIDERS=dpop_with_identity(**client)):
        mocked.get(USERINFO, json={"sub": "acct-7"})
        connect(alice, mocked)
        first = OAuthToken.objects.get()
        assert first.refresh_token == "dpop-refresh-token-0002"
        # The same account again, and the server gives no new refresh token.
        query = connect(alice, mocked, access_token="dpop-access-token-0003", refresh_token=None)
    token = OAuthToken.objects.get()
    assert token.account_id == "acct-7"
    assert token.dpop_key is not None
    assert token.dpop_key.thumbprint == query["dpop_jkt"] != first.dpop_key.thumbprint
    assert token.access_token == "dpop-access-token-0003"
    assert token.refresh_token == kept


# --- nonces shared by the site's workers -------------------------------------------------


@override_settings(OAUTH_PROVIDERS=DPOP_ONLY)
def test_a_nonce_one_worker_learnt_is_in_every_worker_s_first_proof(
    alice: Client, mocked: Any
) -> None:
    query = authorize(alice)
    mocked.post(TOKEN, status=400, json={"error": "use_dpop_nonce"}, headers={"DPoP-Nonce": "n-1"})
    mocked.post(TOKEN, json=dpop_token_json(), headers={"DPoP-Nonce": "n-2"})
    alice.get("/oauth/hardened/callback/", {"state": query["state"], "code": "c"})
    assert len(mocked.calls) == 2
    # Another worker: nothing in its process's memory, the same cache.
    SHARED_NONCES._nonces.clear()
    NONCES._nonces.clear()
    mocked.calls.reset()
    query = authorize(alice)
    alice.get("/oauth/hardened/callback/", {"state": query["state"], "code": "c2"})
    (only,) = mocked.calls
    assert check_proof(only, "POST", TOKEN, jkt=query["dpop_jkt"])["nonce"] == "n-2"


@override_settings(OAUTH_PROVIDERS=DPOP_ONLY)
def test_a_failing_cache_costs_a_retry_never_a_request(
    alice: Client, mocked: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auth_code_flow_django import dpop_nonces

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("cache down")

    monkeypatch.setattr(dpop_nonces.cache, "get", broken)
    monkeypatch.setattr(dpop_nonces.cache, "set", broken)
    query = authorize(alice)
    mocked.post(TOKEN, status=400, json={"error": "use_dpop_nonce"}, headers={"DPoP-Nonce": "n-1"})
    mocked.post(TOKEN, json=dpop_token_json(), headers={"DPoP-Nonce": "n-2"})
    response = alice.get("/oauth/hardened/callback/", {"state": query["state"], "code": "c"})
    assert response.status_code == 302
    assert SHARED_NONCES.get(TOKEN) == "n-2"  # this process's own copy
