"""OpenID Connect through the views: the nonce, and every bad ID token a 502 with
nothing stored and the state consumed; and an ID token in a refresh reply, which must
be valid and the connection's account's (OpenID Connect Core 12.2)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from io import StringIO
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from auth_code_flow_django import exceptions, signals, tokens
from auth_code_flow_django import models as models_module
from auth_code_flow_django.core.oidc_id_tokens import (
    IDTokenSubjectMismatchError,
    InvalidIDTokenError,
)
from auth_code_flow_django.crypto import decrypt
from auth_code_flow_django.flow import TokenResponse
from auth_code_flow_django.identity import Account
from auth_code_flow_django.models import OAuthState, OAuthToken

from .conftest import make_token, start, token_json
from .oidc import (
    JWKS_URL,
    OPENID_URL,
    REVOKE_URL,
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


SIGNING_HINT = "set the application&#x27;s algorithm to &quot;RSA with SHA-2 256&quot;"


def test_a_token_endpoint_failing_when_openid_is_asked_hints_at_signing_keys(
    alice: Client, idp: responses.RequestsMock
) -> None:
    # What django-oauth-toolkit answers when its application has "No OIDC support".
    params = start(alice, "idp")
    idp.upsert(responses.POST, TOKEN_URL, status=500, body="Server Error (500)")
    response = alice.get(CALLBACK, {"state": params["state"], "code": "c"})
    assert_refused(response, "The provider answered HTTP 500.")
    assert SIGNING_HINT in response.content.decode()


@pytest.mark.parametrize(
    ("failing", "scope"),
    [
        ("token", "openid profile"),  # 4xx: the server said what is wrong
        ("jwks", "openid profile"),  # not the token request
        ("token", "profile"),  # no ID token asked for
    ],
)
def test_other_failures_give_no_signing_hint(
    alice: Client, idp: responses.RequestsMock, settings: Any, failing: str, scope: str
) -> None:
    settings.OAUTH_PROVIDERS = {"idp": provider_settings(scope=scope)}
    params = start(alice, "idp")
    if failing == "jwks":
        idp.upsert(responses.GET, JWKS_URL, status=500)
        idp.upsert(
            responses.POST, TOKEN_URL, json=token_json(id_token=KEY.sign(claims(params["nonce"])))
        )
    else:
        idp.upsert(responses.POST, TOKEN_URL, status=503 if "openid" not in scope else 400)
    response = alice.get(CALLBACK, {"state": params["state"], "code": "c"})
    assert response.status_code == 502
    assert "ID tokens" not in response.content.decode()


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


# --- an ID token in a refresh reply (OpenID Connect Core 12.2) -------------------------

SUB = "248289761001"
OLD_ACCESS = "access-token-value-1234"
OLD_REFRESH = "refresh-token-value-5678"
NEW_ACCESS = "refreshed-access-token-4321"
NEW_REFRESH = "rotated-refresh-token-8765"


def connected(client: Client, idp: responses.RequestsMock) -> str:
    """Connect through the callback with a good ID token, let the token expire, and
    return the nonce of that authorization."""
    params = start(client, "idp")
    assert callback(client, idp, lambda p: KEY.sign(claims(p["nonce"])), params).status_code == 302
    OAuthToken.objects.update(expires_at=timezone.now() - timedelta(days=1))
    return params["nonce"]


def refresh_replies(idp: responses.RequestsMock, id_token: str | None) -> None:
    idp.upsert(
        responses.POST,
        TOKEN_URL,
        json=token_json(
            access_token=NEW_ACCESS,
            refresh_token=NEW_REFRESH,
            id_token=id_token,
            scope="openid profile",
        ),
    )


def revocations(idp: responses.RequestsMock) -> list[dict[str, list[str]]]:
    return [parse_qs(str(c.request.body)) for c in idp.calls if c.request.url == REVOKE_URL]


def assert_kept_as_it_was(*, marked: bool = False) -> None:
    token = OAuthToken.objects.get()
    assert (token.access_token, token.refresh_token) == (OLD_ACCESS, OLD_REFRESH)
    assert token.is_expired
    assert token.needs_reauthorization is marked
    assert (token.refresh_claim, token.refresh_claimed_until) == ("", None)


def test_connecting_records_the_subject_and_a_digest_of_the_nonce(
    alice: Client, idp: responses.RequestsMock
) -> None:
    nonce = connected(alice, idp)
    token = OAuthToken.objects.get()
    assert token.id_token_subject == SUB
    assert token.id_token_nonce_digest == hashlib.sha256(nonce.encode()).hexdigest()
    assert nonce not in token.id_token_nonce_digest
    assert SUB not in repr(token)


@pytest.mark.parametrize("nonce", ["none", "original"])
def test_a_refresh_with_the_same_subject_stores_the_new_tokens(
    alice: Client, user: User, idp: responses.RequestsMock, nonce: str
) -> None:
    original = connected(alice, idp)
    # 12.2: no nonce (what most servers send), or the original one (Keycloak before 25).
    refresh_replies(idp, KEY.sign(claims(original if nonce == "original" else None)))
    assert tokens.get_access_token(user, "idp") == NEW_ACCESS
    token = OAuthToken.objects.get()
    assert token.refresh_token == NEW_REFRESH
    assert not token.is_expired
    assert token.id_token_subject == SUB
    sent = parse_qs(str(idp.calls[-1].request.body))
    assert sent["grant_type"] == ["refresh_token"]


def test_a_refresh_reply_without_an_id_token_works_as_before(
    alice: Client, user: User, idp: responses.RequestsMock
) -> None:
    connected(alice, idp)
    refresh_replies(idp, None)
    assert tokens.get_access_token(user, "idp") == NEW_ACCESS
    assert OAuthToken.objects.get().refresh_token == NEW_REFRESH


def test_a_refresh_naming_another_subject_stores_nothing_and_marks_the_connection(
    alice: Client,
    user: User,
    idp: responses.RequestsMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    connected(alice, idp)
    refreshed: list[Any] = []
    signals.token_refreshed.connect(refreshed.append, weak=False, dispatch_uid="test-12.2")
    idp.post(REVOKE_URL)
    refresh_replies(idp, KEY.sign(claims(None, sub="another-account-77")))
    try:
        with caplog.at_level(logging.DEBUG), pytest.raises(IDTokenSubjectMismatchError) as info:
            tokens.get_access_token(user, "idp")
    finally:
        signals.token_refreshed.disconnect(dispatch_uid="test-12.2")
    # The callers' usual handler catches it: a provider failure.
    assert isinstance(info.value, exceptions.AuthCodeFlowError)
    assert_kept_as_it_was(marked=True)
    assert refreshed == []
    # The tokens just issued for the other account are stored nowhere: revoked.
    assert [r["token"] for r in revocations(idp)] == [[NEW_REFRESH], [NEW_ACCESS]]
    for secret in (NEW_ACCESS, NEW_REFRESH, OLD_ACCESS, OLD_REFRESH, SUB, "another-account-77"):
        assert secret not in caplog.text
        assert secret not in str(info.value)
        assert secret not in repr(info.value)
    assert "names another account" in caplog.text
    # From now on the user is asked to connect again; the provider is not asked.
    calls = len(idp.calls)
    with pytest.raises(exceptions.ReauthorizationRequiredError):
        tokens.get_access_token(user, "idp")
    assert len(idp.calls) == calls


def test_a_refresh_naming_another_subject_without_rotation_revokes_the_grant(
    alice: Client, user: User, idp: responses.RequestsMock
) -> None:
    connected(alice, idp)
    idp.post(REVOKE_URL)
    refresh_replies(idp, KEY.sign(claims(None, sub="another-account-77")))
    idp.upsert(
        responses.POST,
        TOKEN_URL,
        json=token_json(
            access_token=NEW_ACCESS,
            refresh_token=None,
            id_token=KEY.sign(claims(None, sub="another-account-77")),
        ),
    )
    with pytest.raises(IDTokenSubjectMismatchError):
        tokens.get_access_token(user, "idp")
    assert [r["token"] for r in revocations(idp)] == [[OLD_REFRESH], [NEW_ACCESS]]
    assert OAuthToken.objects.get().needs_reauthorization


def test_a_refresh_naming_another_subject_after_a_reconnection_revokes_nothing_stored(
    alice: Client, user: User, idp: responses.RequestsMock
) -> None:
    """The user connected again while the refresh was in flight: the reply's tokens
    are revoked but for the refresh token it did not replace, and the new connection
    is left as it is."""
    connected(alice, idp)
    idp.post(REVOKE_URL)
    reconnection = TokenResponse(access_token="reconnected-access", refresh_token="reconnected")

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        OAuthToken.objects.store(user, "idp", reconnection, account=Account(SUB, "alice"))
        reply = token_json(
            access_token=NEW_ACCESS,
            refresh_token=None,
            id_token=KEY.sign(claims(None, sub="another-account-77")),
        )
        return 200, {"Content-Type": "application/json"}, json.dumps(reply)

    idp.remove(responses.POST, TOKEN_URL)
    idp.add_callback(responses.POST, TOKEN_URL, callback=answer)
    with pytest.raises(IDTokenSubjectMismatchError):
        tokens.get_access_token(user, "idp")
    assert [r["token"] for r in revocations(idp)] == [[NEW_ACCESS]]
    token = OAuthToken.objects.get()
    assert (token.access_token, token.refresh_token) == ("reconnected-access", "reconnected")
    assert not token.needs_reauthorization


FORGER = SigningKey("attacker")


@pytest.mark.parametrize(
    ("make_id_token", "message"),
    [
        (lambda n: FORGER.sign(claims(None), kid=KEY.kid), "signature does not verify"),
        (lambda n: compact({"alg": "none", "kid": KEY.kid}, claims(None)), "(none) is not"),
        (lambda n: KEY.sign(claims(None, aud="other-client")), "not for this client"),
        (lambda n: KEY.sign(claims(None, iss="https://evil.example")), "another issuer"),
        (lambda n: KEY.sign(claims(None, exp=1_700_000_000)), "has expired"),
        (lambda n: KEY.sign(claims("nonce-of-another-flow")), "nonce is not the original"),
        (lambda n: "not-a-jwt", "not a signed JWT"),
        (lambda n: "", "has no ID token"),
    ],
    ids=[
        "bad-signature",
        "alg-none",
        "other-aud",
        "other-iss",
        "expired",
        "other-nonce",
        "not-a-jwt",
        "empty",
    ],
)
def test_a_refresh_with_an_invalid_id_token_stores_nothing(
    alice: Client,
    user: User,
    idp: responses.RequestsMock,
    caplog: pytest.LogCaptureFixture,
    make_id_token: Callable[[str], str],
    message: str,
) -> None:
    nonce = connected(alice, idp)
    id_token = make_id_token(nonce)
    refresh_replies(idp, id_token)
    with caplog.at_level(logging.DEBUG), pytest.raises(InvalidIDTokenError) as info:
        tokens.get_access_token(user, "idp")
    assert message in info.value.description
    assert not isinstance(info.value, IDTokenSubjectMismatchError)
    # A provider failure: the stored grant is kept for the next attempt, nothing revoked.
    assert_kept_as_it_was()
    assert revocations(idp) == []
    for secret in (NEW_ACCESS, NEW_REFRESH, nonce, *([id_token] if id_token else [])):
        assert secret not in caplog.text
        assert secret not in repr(info.value)


def test_the_jwks_failing_during_a_refresh_stores_nothing(
    alice: Client, user: User, idp: responses.RequestsMock
) -> None:
    connected(alice, idp)
    cache.clear()
    idp.upsert(responses.GET, JWKS_URL, status=500)
    refresh_replies(idp, KEY.sign(claims(None)))
    with pytest.raises(exceptions.AuthCodeFlowError, match="HTTP 500"):
        tokens.get_access_token(user, "idp")
    assert_kept_as_it_was()


def test_a_connection_without_a_recorded_id_token_is_compared_by_its_account(
    user: User, idp: responses.RequestsMock
) -> None:
    # Connected before ID tokens were recorded: only the account (the sub) is known.
    make_token(
        user,
        "idp",
        account=Account(SUB, "alice.idp"),
        access_token=OLD_ACCESS,
        refresh_token=OLD_REFRESH,
        expires_at=timezone.now() - timedelta(days=1),
    )
    assert OAuthToken.objects.get().id_token_subject == ""
    idp.post(REVOKE_URL)
    refresh_replies(idp, KEY.sign(claims(None, sub="another-account-77")))
    with pytest.raises(IDTokenSubjectMismatchError):
        tokens.get_access_token(user, "idp")
    assert_kept_as_it_was(marked=True)
    # The same account, with a nonce this row cannot compare: accepted.
    OAuthToken.objects.update(needs_reauthorization=False)
    refresh_replies(idp, KEY.sign(claims("unknown-original-nonce")))
    assert tokens.get_access_token(user, "idp") == NEW_ACCESS


def test_a_provider_without_openid_ignores_an_id_token_in_a_refresh(
    user: User, settings: Any, idp: responses.RequestsMock
) -> None:
    settings.OAUTH_PROVIDERS = {"idp": provider_settings(scope="profile")}
    make_token(
        user,
        "idp",
        account=Account(SUB),
        access_token=OLD_ACCESS,
        refresh_token=OLD_REFRESH,
        expires_at=timezone.now() - timedelta(days=1),
    )
    refresh_replies(idp, "not-a-jwt")
    assert tokens.get_access_token(user, "idp") == NEW_ACCESS


def test_the_refresh_command_counts_a_refused_id_token_as_failed(
    alice: Client, user: User, other_user: User, client_for: Any, idp: responses.RequestsMock
) -> None:
    connected(alice, idp)
    connected(client_for(other_user), idp)
    alice_row = OAuthToken.objects.get(user=user)
    idp.post(REVOKE_URL)
    # Alice's refresh names another account; the other user's ID token has expired.
    replies = iter(
        [
            KEY.sign(claims(None, sub="another-account-77")),
            KEY.sign(claims(None, exp=1_700_000_000)),
        ]
    )

    def reply(request: Any) -> tuple[int, dict[str, str], str]:
        import json

        body = token_json(
            access_token=NEW_ACCESS, refresh_token=NEW_REFRESH, id_token=next(replies)
        )
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    idp.remove(responses.POST, TOKEN_URL)
    idp.add_callback(responses.POST, TOKEN_URL, callback=reply)
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as info:
        call_command("oauth_refresh_tokens", "--format", "json", stdout=out, stderr=err)
    assert info.value.returncode == 1
    summary = json.loads(out.getvalue())
    assert (summary["refreshed"], summary["failed"], summary["needs_reauthorization"]) == (0, 2, 0)
    errors = {f["user"]: f["error"] for f in summary["failures"]}
    assert "names another account" in errors["alice"]
    assert "has expired" in errors["mallory"]
    for secret in (NEW_ACCESS, NEW_REFRESH, "another-account-77"):
        assert secret not in out.getvalue() + err.getvalue()
    assert OAuthToken.objects.get(pk=alice_row.pk).needs_reauthorization
    assert not OAuthToken.objects.get(user=other_user).needs_reauthorization
    # The next run leaves the marked connection alone and tries the other again.
    replies = iter([KEY.sign(claims(None))])
    out = StringIO()
    call_command("oauth_refresh_tokens", stdout=out, stderr=StringIO())
    assert "refreshed: 1, failed: 0" in out.getvalue()
    assert OAuthToken.objects.get(user=other_user).access_token == NEW_ACCESS
