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

from .documented import DocumentedReplies, Reply
from .steps import (
    CODE,
    authorize,
    basic,
    callback,
    connect,
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

DOCUMENTED = DocumentedReplies(
    slug="spotify",
    token_url=TOKEN_URL,
    # developer.spotify.com/documentation/web-api/tutorials/code-flow (error replies).
    refused_code=Reply(
        400, {"error": "invalid_grant", "error_description": "Invalid authorization code"}
    ),
    # developer.spotify.com/documentation/web-api/tutorials/refreshing-tokens (an invalid
    # refresh token answers invalid_grant).
    refused_refresh=Reply(
        400, {"error": "invalid_grant", "error_description": "Refresh token revoked"}
    ),
    # developer.spotify.com/documentation/web-api documents no revocation endpoint (users
    # remove an app at spotify.com/account/apps).
    revocation=False,
)


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
