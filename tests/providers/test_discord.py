"""The ``discord`` preset against Discord's documented replies.

Pages followed:
- https://discord.com/developers/docs/topics/oauth2
- https://discord.com/developers/docs/resources/user#get-current-user
"""

from __future__ import annotations

import pytest
import responses
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client

from auth_code_flow_django import tokens
from auth_code_flow_django.models import OAuthToken

from .documented import DocumentedReplies, Reply
from .steps import authorize, callback, disconnect, expire, form, stored

pytestmark = pytest.mark.django_db

TOKEN_URL = "https://discord.com/api/oauth2/token"
REVOKE_URL = "https://discord.com/api/oauth2/token/revoke"
ME_URL = "https://discord.com/api/users/@me"

# OAuth2, "Authorization Code Grant": the access token response.
TOKEN_REPLY = {
    "access_token": "6qrZcUqja7812RVdnEKjpzOL4CvHBFG",
    "token_type": "Bearer",
    "expires_in": 604800,
    "refresh_token": "D43f5y0ahjqew82jZ4NViEr2YafMKhue",
    "scope": "identify",
}
REFRESH_REPLY = {
    "access_token": "7rsZcUqja7812RVdnEKjpzOL4CvHBFH",
    "token_type": "Bearer",
    "expires_in": 604800,
    "refresh_token": "E54g6z1bhjrfx93kAkN5WjFs3ZbgNLvf",
    "scope": "identify",
}
# "Get Current User" (the User object's example), abridged.
ME_REPLY = {
    "id": "80351110224678912",
    "username": "Nelly",
    "discriminator": "1337",
    "global_name": None,
    "avatar": "8342729096ea3675442027381ff50dfe",
    "verified": True,
}

DOCUMENTED = DocumentedReplies(
    slug="discord",
    token_url=TOKEN_URL,
    # OAuth2: a bad code is answered HTTP 400 invalid_grant, with Discord's description.
    refused_code=Reply(
        400, {"error": "invalid_grant", "error_description": 'Invalid "code" in request.'}
    ),
    refused_code_shows="invalid_grant",
    # OAuth2: refreshing with a revoked token is invalid_grant, HTTP 400.
    refused_refresh=Reply(400, {"error": "invalid_grant"}),
)


def test_connect_refresh_and_disconnect(
    alice: Client,
    user: AbstractBaseUser,
    mocked: responses.RequestsMock,
) -> None:
    """OAuth2: the authorization code grant, the refresh_token grant, and token
    revocation at /oauth2/token/revoke with token_type_hint; the account from
    /users/@me (global_name may be null: the username is shown)."""
    endpoint, params = authorize(alice, "discord")
    assert (endpoint, params["scope"]) == ("https://discord.com/oauth2/authorize", "identify")
    mocked.post(TOKEN_URL, json=TOKEN_REPLY)
    mocked.get(ME_URL, json=ME_REPLY)
    assert callback(alice, "discord", params).status_code == 302
    token = stored(user, "discord")
    assert (token.account_id, token.account_name) == ("80351110224678912", "Nelly")

    expire(user, "discord")
    mocked.replace(responses.POST, TOKEN_URL, json=REFRESH_REPLY)
    assert tokens.get_access_token(user, "discord") == REFRESH_REPLY["access_token"]
    assert form(mocked.calls[-1])["refresh_token"] == TOKEN_REPLY["refresh_token"]

    revoke = mocked.post(REVOKE_URL, json={})
    assert disconnect(alice, "discord").status_code == 302
    assert [(form(c)["token"], form(c)["token_type_hint"]) for c in revoke.calls] == [
        (REFRESH_REPLY["refresh_token"], "refresh_token"),
        (REFRESH_REPLY["access_token"], "access_token"),
    ]
    assert not OAuthToken.objects.exists()
