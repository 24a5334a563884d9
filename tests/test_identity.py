"""Who is connected (the provider account of each connection) and reconnecting."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
import responses
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from auth_code_flow_django import signals, tokens
from auth_code_flow_django.core.stored_values import is_storable
from auth_code_flow_django.flow import TokenResponse
from auth_code_flow_django.identity import (
    MAX_ACCOUNT_ID_LENGTH,
    MAX_ACCOUNT_NAME_LENGTH,
    Account,
    account_from,
    read_field,
)
from auth_code_flow_django.models import OAuthToken
from auth_code_flow_django.providers import get_provider

from .conftest import REVOKE_URL, TOKEN_URL, make_token, start, token_json

User = get_user_model()

pytestmark = pytest.mark.django_db

CALLBACK = "/oauth/example/callback/"
ME_URL = "https://api.provider.example/me"
IDENTITY = {"url": ME_URL, "id": "id", "name": ["login", "name"]}


@pytest.fixture
def with_identity(settings: Any) -> None:
    settings.OAUTH_PROVIDERS = {
        "example": {**settings.OAUTH_PROVIDERS["example"], "identity": IDENTITY}
    }


def connect(client: Client) -> Any:
    params = start(client)
    return client.get(CALLBACK, {"state": params["state"], "code": "c"})


def form_body(call: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(str(call.request.body)).items()}


# --- reading an account --------------------------------------------------------------


def test_read_field_follows_dotted_paths_and_list_indexes() -> None:
    document = {"items": [{"user_id": 7}], "authed_user": {"id": "U1"}}
    assert read_field(document, "items.0.user_id") == 7
    assert read_field(document, "authed_user.id") == "U1"
    assert read_field(document, "items.1.user_id") is None
    assert read_field(document, "items.x") is None
    assert read_field(document, "authed_user.id.deeper") is None


def test_account_from_takes_the_first_field_present() -> None:
    document = {"oid": "", "id": 42, "login": "", "name": "Ada"}
    assert account_from(document, ["oid", "id"], ["login", "name"]) == Account("42", "Ada")
    assert account_from({"id": True}, ["id"], ["name"]) is None
    assert account_from({"name": "Ada"}, ["id"], ["name"]) is None
    assert account_from({"id": "7"}, ["id"], ["name"]) == Account("7", "")


@pytest.mark.parametrize("bad", ["a\x00b", "a\nb", "\ud800", "x" * 256])
def test_an_unstorable_account_id_names_no_account(bad: str) -> None:
    assert account_from({"id": bad, "name": "n"}, ["id"], ["name"]) is None


def test_an_unstorable_name_is_skipped_and_a_long_one_shortened() -> None:
    assert account_from({"id": "1", "a": "x\x00", "b": "ok"}, ["id"], ["a", "b"]) == Account(
        "1", "ok"
    )
    account = account_from({"id": "1", "name": "n" * 300}, ["id"], ["name"])
    assert account is not None
    assert len(account.name) == 255
    assert account.name.endswith("\u2026")


def test_id_token_claims_name_the_account_without_a_request(
    mocked: responses.RequestsMock, with_identity: None
) -> None:
    result = TokenResponse(
        access_token="a" * 20,
        id_token_claims={"sub": "ignored", "id": "claims-id", "login": "from-claims"},
    )
    assert tokens.identify(get_provider("example"), result) == Account("claims-id", "from-claims")
    assert len(mocked.calls) == 0


def test_id_token_claims_use_the_openid_fields_by_default(mocked: responses.RequestsMock) -> None:
    claims = {"sub": "248289761001", "preferred_username": "j.doe", "email": "j@example.com"}
    result = TokenResponse(access_token="a" * 20, id_token_claims=claims)
    assert tokens.identify(get_provider("example"), result) == Account("248289761001", "j.doe")


def test_without_identity_or_claims_the_account_is_unknown(
    mocked: responses.RequestsMock,
) -> None:
    result = TokenResponse(access_token="a" * 20, extras={"id": "not-an-account"})
    assert tokens.identify(get_provider("example"), result) is None
    assert len(mocked.calls) == 0


def test_identity_url_outside_api_base_urls_gets_no_token(
    settings: Any, mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    settings.OAUTH_PROVIDERS = {
        "example": {
            **settings.OAUTH_PROVIDERS["example"],
            "identity": {**IDENTITY, "url": "https://elsewhere.example/me"},
        }
    }
    assert tokens.fetch_account(get_provider("example"), "access-token-value") is None
    assert len(mocked.calls) == 0
    assert "api_base_urls" in caplog.text


@pytest.mark.parametrize(
    "reply",
    [
        {"status": 401, "json": {"message": "Bad credentials"}},
        {"status": 200, "body": "<html>not json</html>"},
        {"status": 200, "json": {"login": "no id"}},
        {"status": 302, "headers": {"Location": "https://elsewhere.example/"}},
    ],
)
def test_a_failed_identity_request_names_no_account(
    with_identity: None, mocked: responses.RequestsMock, reply: dict[str, Any]
) -> None:
    mocked.get(ME_URL, **reply)
    assert tokens.fetch_account(get_provider("example"), "access-token-value") is None


def test_a_token_in_the_identity_query_is_not_logged(
    settings: Any, mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    settings.OAUTH_PROVIDERS = {
        "example": {
            **settings.OAUTH_PROVIDERS["example"],
            "identity": {**IDENTITY, "token_param": "access_token"},
        }
    }
    mocked.get(ME_URL, json={"id": 1, "login": "x"})
    with caplog.at_level(logging.DEBUG):
        assert tokens.fetch_account(get_provider("example"), "SECRET-TOKEN-IN-QUERY") == Account(
            "1", "x"
        )
        logging.getLogger("urllib3.connectionpool").debug(
            '%s://%s:%s "%s %s %s" %s %s',
            "https",
            "api.provider.example",
            443,
            "GET",
            "/me?access_token=SECRET-TOKEN-IN-QUERY&site=x",
            "HTTP/1.1",
            200,
            10,
        )
    assert "SECRET-TOKEN-IN-QUERY" not in caplog.text
    assert "access_token=[redacted]" in caplog.text


# --- connecting ----------------------------------------------------------------------


def test_connecting_records_the_account_and_the_signal_carries_it(
    alice: Client,
    user: User,
    with_identity: None,
    mocked: responses.RequestsMock,
    django_capture_on_commit_callbacks: Any,
) -> None:
    received: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        received.append(kwargs)

    mocked.post(TOKEN_URL, json=token_json())
    me = mocked.get(ME_URL, json={"id": 583231, "login": "octocat", "name": "The Octocat"})
    signals.token_obtained.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert connect(alice).status_code == 302
    finally:
        signals.token_obtained.disconnect(receiver)
    token = OAuthToken.objects.get()
    assert (token.account_id, token.account_name) == ("583231", "octocat")
    assert me.calls[0].request.headers["Authorization"] == "Bearer access-token-value-1234"
    (kwargs,) = received
    assert (kwargs["account_id"], kwargs["account_name"]) == ("583231", "octocat")
    assert kwargs["token"] == token
    html = alice.get("/oauth/").content.decode()
    assert "Connected as <strong>octocat</strong>" in html
    assert 'data-account-id="583231"' in html


def test_the_connections_page_escapes_the_account_name(alice: Client, user: User) -> None:
    make_token(user, account=Account("1", "<script>x</script>"))
    html = alice.get("/oauth/").content.decode()
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;" in html


# --- looking the account up again ------------------------------------------------------


def test_a_failed_look_up_is_retried_once_per_access_token_by_get_access_token(
    alice: Client, user: User, with_identity: None, mocked: responses.RequestsMock
) -> None:
    mocked.post(TOKEN_URL, json=token_json())
    me = mocked.get(ME_URL, status=503)
    connect(alice)
    assert OAuthToken.objects.get().account_id == ""
    assert len(me.calls) == 1
    # The next use of the token looks it up once more...
    assert tokens.get_access_token(user, "example") == "access-token-value-1234"
    assert len(me.calls) == 2
    # ...and no other use of the same token does.
    for _ in range(3):
        assert tokens.get_access_token(user, "example") == "access-token-value-1234"
    assert len(me.calls) == 2
    # A refreshed token is looked up once again.
    OAuthToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    mocked.replace(responses.POST, TOKEN_URL, json=token_json(access_token="refreshed-token"))
    mocked.replace(responses.GET, ME_URL, json={"id": 7, "login": "found"})
    assert tokens.get_access_token(user, "example") == "refreshed-token"
    tokens.get_access_token(user, "example")
    token = OAuthToken.objects.get()
    assert (token.account_id, token.account_name) == ("7", "found")
    calls = len(mocked.calls)
    tokens.get_access_token(user, "example")
    assert len(mocked.calls) == calls


def test_a_known_account_costs_get_access_token_nothing(
    user: User, with_identity: None, mocked: responses.RequestsMock
) -> None:
    make_token(user, account=Account("7", "x"))
    OAuthToken.objects.update(account_checked_at=None)
    tokens.get_access_token(user, "example")
    assert len(mocked.calls) == 0


def test_without_an_identity_url_nothing_is_looked_up_again(
    user: User, mocked: responses.RequestsMock
) -> None:
    make_token(user)
    OAuthToken.objects.update(account_checked_at=None)
    tokens.get_access_token(user, "example")
    assert len(mocked.calls) == 0


# --- reconnecting --------------------------------------------------------------------


def test_reconnecting_the_same_account_without_a_refresh_token_keeps_it(
    alice: Client,
    user: User,
    with_identity: None,
    mocked: responses.RequestsMock,
    django_capture_on_commit_callbacks: Any,
) -> None:
    make_token(user, account=Account("7", "octocat"))
    mocked.post(TOKEN_URL, json=token_json(access_token="second-access-token", refresh_token=None))
    mocked.get(ME_URL, json={"id": 7, "login": "octocat-renamed"})
    revoke = mocked.post(REVOKE_URL, body="")
    with django_capture_on_commit_callbacks(execute=True):
        assert connect(alice).status_code == 302
    token = OAuthToken.objects.get()
    assert token.access_token == "second-access-token"
    assert token.refresh_token == "stored-refresh-token-0002"
    assert (token.account_id, token.account_name) == ("7", "octocat-renamed")
    assert len(revoke.calls) == 0


def test_reconnecting_another_account_replaces_the_connection_and_revokes_the_old_grant(
    alice: Client,
    user: User,
    with_identity: None,
    mocked: responses.RequestsMock,
    django_capture_on_commit_callbacks: Any,
) -> None:
    revoked: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        revoked.append(kwargs)

    make_token(user, account=Account("7", "octocat"))
    mocked.post(TOKEN_URL, json=token_json(access_token="b-access-token", refresh_token=None))
    mocked.get(ME_URL, json={"id": 8, "login": "hubot"})
    revoke = mocked.post(REVOKE_URL, body="")
    signals.token_revoked.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert connect(alice).status_code == 302
    finally:
        signals.token_revoked.disconnect(receiver)
    token = OAuthToken.objects.get()
    assert token.access_token == "b-access-token"
    assert token.refresh_token is None
    assert (token.account_id, token.account_name) == ("8", "hubot")
    assert [(form_body(c)["token"], form_body(c)["token_type_hint"]) for c in revoke.calls] == [
        ("stored-refresh-token-0002", "refresh_token"),
        ("stored-access-token-0001", "access_token"),
    ]
    (kwargs,) = revoked
    assert (kwargs["account_id"], kwargs["account_name"]) == ("7", "octocat")


def test_after_reconnecting_another_account_a_refresh_cannot_switch_back(
    alice: Client, user: User, with_identity: None, mocked: responses.RequestsMock
) -> None:
    make_token(user, account=Account("7", "octocat"))
    mocked.post(
        TOKEN_URL,
        json=token_json(access_token="b-access-token", refresh_token=None, expires_in=1),
    )
    mocked.get(ME_URL, json={"id": 8, "login": "hubot"})
    connect(alice)
    calls = len(mocked.calls)
    with pytest.raises(tokens.ReauthorizationRequiredError):
        tokens.get_access_token(user, "example")
    # No refresh request with the other account's refresh token.
    assert len(mocked.calls) == calls
    assert OAuthToken.objects.get().account_id == "8"


def test_reconnecting_another_account_with_a_refresh_token_stores_it_and_revokes_the_old(
    alice: Client,
    user: User,
    with_identity: None,
    mocked: responses.RequestsMock,
    django_capture_on_commit_callbacks: Any,
) -> None:
    make_token(user, account=Account("7", "octocat"))
    mocked.post(TOKEN_URL, json=token_json(refresh_token="b-refresh-token-value"))
    mocked.get(ME_URL, json={"id": 8, "login": "hubot"})
    revoke = mocked.post(REVOKE_URL, body="")
    with django_capture_on_commit_callbacks(execute=True):
        connect(alice)
    token = OAuthToken.objects.get()
    assert token.refresh_token == "b-refresh-token-value"
    assert token.account_id == "8"
    assert len(revoke.calls) == 2


def test_reconnecting_with_an_unknown_account_keeps_no_refresh_token_and_revokes_nothing(
    alice: Client,
    user: User,
    with_identity: None,
    mocked: responses.RequestsMock,
    django_capture_on_commit_callbacks: Any,
) -> None:
    make_token(user, account=Account("7", "octocat"))
    mocked.post(TOKEN_URL, json=token_json(access_token="new-access-token", refresh_token=None))
    mocked.get(ME_URL, status=500)
    revoke = mocked.post(REVOKE_URL, body="")
    with django_capture_on_commit_callbacks(execute=True):
        connect(alice)
    token = OAuthToken.objects.get()
    assert token.access_token == "new-access-token"
    assert token.refresh_token is None
    assert token.account_id == ""
    assert len(revoke.calls) == 0


def test_reconnecting_where_both_look_ups_failed_keeps_no_refresh_token(
    alice: Client,
    user: User,
    with_identity: None,
    mocked: responses.RequestsMock,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Two unknown accounts are not the same account: the first one's refresh token
    beside the second one's access token would switch back at the first refresh."""
    make_token(user)  # connected while the identity look-up failed
    mocked.post(
        TOKEN_URL,
        json=token_json(access_token="b-access-token", refresh_token=None, expires_in=1),
    )
    mocked.get(ME_URL, status=500)
    revoke = mocked.post(REVOKE_URL, body="")
    with django_capture_on_commit_callbacks(execute=True):
        assert connect(alice).status_code == 302
    token = OAuthToken.objects.get()
    assert token.access_token == "b-access-token"
    assert token.refresh_token is None
    assert token.account_id == ""
    # The old grant may be the new one's: not revoked.
    assert len(revoke.calls) == 0
    calls = len(mocked.calls)
    with pytest.raises(tokens.ReauthorizationRequiredError):
        tokens.get_access_token(user, "example")
    assert len(mocked.calls) == calls


def test_reconnecting_at_a_provider_without_identity_keeps_no_refresh_token(
    alice: Client,
    user: User,
    mocked: responses.RequestsMock,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Nothing says the reconnection is the same account: it may be another one at
    the provider, which must not switch back at the first refresh."""
    make_token(user)
    mocked.post(
        TOKEN_URL,
        json=token_json(access_token="second-access-token", refresh_token=None, expires_in=1),
    )
    revoke = mocked.post(REVOKE_URL, body="")
    with django_capture_on_commit_callbacks(execute=True):
        assert connect(alice).status_code == 302
    token = OAuthToken.objects.get()
    assert token.access_token == "second-access-token"
    assert token.refresh_token is None
    assert token.account_id == ""
    assert len(revoke.calls) == 0
    calls = len(mocked.calls)
    with pytest.raises(tokens.ReauthorizationRequiredError):
        tokens.get_access_token(user, "example")
    assert len(mocked.calls) == calls


def test_a_provider_without_identity_stores_a_new_refresh_token_on_reconnection(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    make_token(user)
    mocked.post(TOKEN_URL, json=token_json(refresh_token="second-refresh-token"))
    connect(alice)
    assert OAuthToken.objects.get().refresh_token == "second-refresh-token"


def test_the_same_account_keep_loses_to_a_concurrent_replacement(user: User) -> None:
    """The keep is conditional on the stored account: when another account's grant was
    stored meanwhile, the new grant replaces it and keeps no refresh token."""
    previous = make_token(user, account=Account("7", "a"))
    OAuthToken.objects.filter(pk=previous.pk).update(account_id="8")
    queryset = OAuthToken.objects.all()
    token = OAuthToken(user_id=user.pk, provider="example", account_id="7")
    token.apply(TokenResponse(access_token="x" * 20))
    assert queryset._keep_refresh_token(queryset, previous, token) is None
    assert OAuthToken.objects.get().account_id == "8"


# --- any reply ---------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["id", "name", "0", "items", "sub"]), children, max_size=4
        )
    ),
    max_leaves=20,
)


@given(document=st.dictionaries(st.sampled_from(["id", "name", "items", "sub"]), json_values))
def test_any_reply_gives_no_account_or_a_storable_one(document: dict[str, Any]) -> None:
    account = account_from(document, ["items.0.id", "id", "sub"], ["name", "items.0.name"])
    if account is not None:
        assert account.id
        assert is_storable(account.id, MAX_ACCOUNT_ID_LENGTH)
        assert is_storable(account.name, MAX_ACCOUNT_NAME_LENGTH)


# --- OpenID Connect UserInfo -----------------------------------------------------------


def test_a_userinfo_endpoint_names_the_account_of_a_provider_without_identity(
    alice: Client, settings: Any, mocked: responses.RequestsMock
) -> None:
    userinfo = "https://provider.example/oauth/userinfo"
    settings.OAUTH_PROVIDERS = {
        "example": {**settings.OAUTH_PROVIDERS["example"], "userinfo_endpoint": userinfo}
    }
    mocked.post(TOKEN_URL, json=token_json())
    call = mocked.get(userinfo, json={"sub": "248289761001", "preferred_username": "j.doe"})
    assert connect(alice).status_code == 302
    token = OAuthToken.objects.get()
    assert (token.account_id, token.account_name) == ("248289761001", "j.doe")
    # The provider's own endpoint: no api_base_urls needed, the token as a header.
    assert call.calls[0].request.headers["Authorization"] == "Bearer access-token-value-1234"


def test_an_http_userinfo_endpoint_gets_no_token(
    settings: Any, mocked: responses.RequestsMock
) -> None:
    settings.OAUTH_PROVIDERS = {
        "example": {
            **settings.OAUTH_PROVIDERS["example"],
            "userinfo_endpoint": "http://provider.example/userinfo",
        }
    }
    assert tokens.fetch_account(get_provider("example"), "access-token-value") is None
    assert len(mocked.calls) == 0


def test_a_discovered_userinfo_endpoint_names_the_account(
    alice: Client, user: User, settings: Any, mocked: responses.RequestsMock
) -> None:
    from django.core.cache import cache

    from . import oidc

    cache.clear()
    settings.OAUTH_PROVIDERS = {"idp": oidc.provider_settings(scope="profile")}
    mocked.upsert(responses.GET, oidc.RFC8414_URL, status=404)
    mocked.upsert(responses.GET, oidc.OPENID_URL, json=oidc.document())
    mocked.post(oidc.TOKEN_URL, json=token_json())
    userinfo = mocked.get(oidc.USERINFO_URL, status=503)
    params = start(alice, "idp")
    response = alice.get("/oauth/idp/callback/", {"state": params["state"], "code": "c"})
    assert response.status_code == 302
    assert OAuthToken.objects.get().account_id == ""
    # Looked up again on the next use of the token, at the discovered endpoint.
    mocked.replace(responses.GET, oidc.USERINFO_URL, json={"sub": "s-1", "email": "a@idp"})
    tokens.get_access_token(user, "idp")
    token = OAuthToken.objects.get()
    assert (token.account_id, token.account_name) == ("s-1", "a@idp")
    assert len(userinfo.calls) == 1
    cache.clear()
