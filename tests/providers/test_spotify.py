"""The ``spotify`` preset against Spotify's documented replies: HTTP Basic, a refresh
reply that may or may not carry a new refresh token, the account from ``/v1/me`` and no
revocation endpoint."""

from __future__ import annotations

from typing import Any

import pytest
import responses
from django.contrib.auth import get_user_model
from django.test import Client

from auth_code_flow_django import tokens
from auth_code_flow_django.exceptions import ReauthorizationRequiredError
from auth_code_flow_django.models import OAuthToken

from .steps import (
    CODE,
    authorize,
    basic,
    callback,
    configure,
    connect,
    disconnect,
    expire,
    form,
    stored,
)

User = get_user_model()

pytestmark = pytest.mark.django_db

TOKEN_URL = "https://accounts.spotify.com/api/token"
ME_URL = "https://api.spotify.com/v1/me"

#: developer.spotify.com/documentation/web-api/tutorials/code-flow ("Response").
TOKEN_REPLY = {
    "access_token": "NgCXRKc3MzYjw9EhZ4qY3yzb2HNQ3ZiVUDQOyNAz5WJmaM9FNydA3Jn0mW",
    "token_type": "Bearer",
    "scope": "user-read-private user-read-email",
    "expires_in": 3600,
    "refresh_token": "NgAagA9Um_SHoOb5dTvC0nC1h8ZqeTfkHkL7R4bS2JI3sMbD",
}
#: developer.spotify.com/documentation/web-api/reference/get-current-users-profile.
ME_REPLY = {
    "country": "SE",
    "display_name": "JM Wizzler",
    "email": "email@example.com",
    "id": "wizzler",
    "type": "user",
    "uri": "spotify:user:wizzler",
}


@pytest.fixture(autouse=True)
def spotify(settings: Any) -> None:
    configure(settings, "spotify")


def connected(alice: Client, mocked: responses.RequestsMock) -> None:
    mocked.post(TOKEN_URL, json=TOKEN_REPLY)
    mocked.get(ME_URL, json=ME_REPLY)
    _params, response = connect(alice, "spotify")
    assert response.status_code == 302, response.content


def test_connect_with_basic_auth(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    """developer.spotify.com/documentation/web-api/tutorials/code-flow (the authorization
    request; the token request with "Authorization: Basic <base64 client_id:secret>")."""
    endpoint, params = authorize(alice, "spotify")
    assert endpoint == "https://accounts.spotify.com/authorize"
    assert params["scope"] == "user-read-email user-read-private"
    token_call = mocked.post(TOKEN_URL, json=TOKEN_REPLY)
    mocked.get(ME_URL, json=ME_REPLY)
    assert callback(alice, "spotify", params).status_code == 302
    assert token_call.calls[0].request.headers["Authorization"] == basic("spotify")
    sent = form(token_call.calls[0])
    assert (sent["grant_type"], sent["code"]) == ("authorization_code", CODE)
    token = stored(user, "spotify")
    assert (token.account_id, token.account_name) == ("wizzler", "email@example.com")


@pytest.mark.parametrize("new_refresh_token", [None, "NgAagA-rotated"])
def test_refresh_keeps_or_replaces_the_refresh_token(
    alice: Client, user: User, mocked: responses.RequestsMock, new_refresh_token: str | None
) -> None:
    """developer.spotify.com/documentation/web-api/tutorials/refreshing-tokens: "the
    refresh token ... may be returned"; without one, the old one stays valid."""
    connected(alice, mocked)
    expire(user, "spotify")
    reply: dict[str, Any] = {**TOKEN_REPLY, "access_token": "access-2"}
    reply.pop("refresh_token")
    if new_refresh_token:
        reply["refresh_token"] = new_refresh_token
    call = mocked.replace(responses.POST, TOKEN_URL, json=reply)
    assert tokens.get_access_token(user, "spotify") == "access-2"
    assert call.calls[0].request.headers["Authorization"] == basic("spotify")
    expected = new_refresh_token or TOKEN_REPLY["refresh_token"]
    assert stored(user, "spotify").refresh_token == expected


def test_a_revoked_refresh_token_needs_reauthorization(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    """developer.spotify.com/documentation/web-api/tutorials/refreshing-tokens (an
    invalid refresh token answers invalid_grant)."""
    connected(alice, mocked)
    expire(user, "spotify")
    mocked.replace(
        responses.POST,
        TOKEN_URL,
        status=400,
        json={"error": "invalid_grant", "error_description": "Refresh token revoked"},
    )
    with pytest.raises(ReauthorizationRequiredError):
        tokens.get_access_token(user, "spotify")


def test_a_refused_code_is_a_502(alice: Client, mocked: responses.RequestsMock) -> None:
    """developer.spotify.com/documentation/web-api/tutorials/code-flow (error replies)."""
    mocked.post(
        TOKEN_URL,
        status=400,
        json={"error": "invalid_grant", "error_description": "Invalid authorization code"},
    )
    _params, response = connect(alice, "spotify")
    assert response.status_code == 502
    assert not OAuthToken.objects.exists()


def test_disconnect_deletes_without_revoking(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    """developer.spotify.com/documentation/web-api documents no revocation endpoint
    (users remove an app at spotify.com/account/apps)."""
    connected(alice, mocked)
    before = len(mocked.calls)
    assert disconnect(alice, "spotify").status_code == 302
    assert len(mocked.calls) == before
    assert not OAuthToken.objects.filter(user=user).exists()
