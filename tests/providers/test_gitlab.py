"""The ``gitlab`` preset against GitLab's documented replies (gitlab.com and a
self-hosted instance).

Pages followed:
- https://docs.gitlab.com/api/oauth2/
- https://docs.gitlab.com/api/users/#get-the-current-user
"""

from __future__ import annotations

from typing import Any

import pytest
import responses
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client

from auth_code_flow_django import tokens
from auth_code_flow_django.models import OAuthToken

from .documented import DocumentedReplies, Reply
from .steps import authorize, callback, configure, disconnect, expire, form, stored

pytestmark = pytest.mark.django_db

# "Authorization code with PKCE flow": the token reply (created_at is GitLab's own).
TOKEN_REPLY = {
    "access_token": "de6780bc506a0446309bd9362820ba8aed28aa506c71eedbe1c5c4f9dd350e54",
    "token_type": "bearer",
    "expires_in": 7200,
    "refresh_token": "8257e65c97202ed1726cf9571600918f3bffb2544b26e00a61df9897668c33a1",
    "created_at": 1607635748,
}
REFRESH_REPLY = {
    "access_token": "c97d1fe52119f38c7f67f0a14db68d60caa35ddc86fd12401718b649dcfa9c68",
    "token_type": "bearer",
    "expires_in": 7200,
    "refresh_token": "803c1fd487fec35562c205dac93e9d8e08f9d3652a24079d704df3039df1158f",
    "created_at": 1628711391,
}
# "Get the current user", abridged.
USER_REPLY = {
    "id": 1,
    "username": "john_smith",
    "email": "john@example.com",
    "name": "John Smith",
    "state": "active",
}
# The error the OAuth 2.0 API answers for a used or revoked grant (HTTP 400).
INVALID_GRANT = {
    "error": "invalid_grant",
    "error_description": "The provided authorization grant is invalid, expired, revoked, "
    "does not match the redirection URI used in the authorization request, or was "
    "issued to another client.",
}

DOCUMENTED = DocumentedReplies(
    slug="gitlab",
    token_url="https://gitlab.com/oauth/token",
    # OAuth 2.0 identity provider API: invalid_grant, HTTP 400.
    refused_refresh=Reply(400, INVALID_GRANT),
)


@pytest.mark.parametrize("base", ["https://gitlab.com", "https://git.example.org"])
def test_connect_refresh_and_disconnect(
    settings: Any,
    alice: Client,
    user: AbstractBaseUser,
    mocked: responses.RequestsMock,
    base: str,
) -> None:
    """OAuth 2.0 identity provider API: the authorization code flow with PKCE, the
    refresh_token grant (a new refresh token each time) and POST /oauth/revoke; the
    account from GET /api/v4/user. A self-hosted GitLab sets base_uri only."""
    configure(settings, "gitlab", **({} if base == "https://gitlab.com" else {"base_uri": base}))
    endpoint, params = authorize(alice, "gitlab")
    assert endpoint == base + "/oauth/authorize"
    assert (params["scope"], params["code_challenge_method"]) == ("read_user", "S256")
    token_call = mocked.post(base + "/oauth/token", json=TOKEN_REPLY)
    mocked.get(base + "/api/v4/user", json=USER_REPLY)
    assert callback(alice, "gitlab", params).status_code == 302
    assert "code_verifier" in form(token_call.calls[0])
    token = stored(user, "gitlab")
    assert (token.account_id, token.account_name) == ("1", "john_smith")
    assert token.scope == "read_user"  # the reply has none: the requested scope

    expire(user, "gitlab")
    mocked.replace(responses.POST, base + "/oauth/token", json=REFRESH_REPLY)
    assert tokens.get_access_token(user, "gitlab") == REFRESH_REPLY["access_token"]
    assert form(mocked.calls[-1])["refresh_token"] == TOKEN_REPLY["refresh_token"]

    revoke = mocked.post(base + "/oauth/revoke", json={})
    assert disconnect(alice, "gitlab").status_code == 302
    assert [form(c)["token"] for c in revoke.calls] == [
        REFRESH_REPLY["refresh_token"],
        REFRESH_REPLY["access_token"],
    ]
    assert not OAuthToken.objects.exists()


def test_a_failed_identity_request_is_made_again_on_next_use(
    settings: Any, alice: Client, user: AbstractBaseUser, mocked: responses.RequestsMock
) -> None:
    """Users API: a 401 {"message": "401 Unauthorized"} leaves the account unknown;
    the next use of the token asks again."""
    _endpoint, params = authorize(alice, "gitlab")
    mocked.post("https://gitlab.com/oauth/token", json=TOKEN_REPLY)
    me = mocked.get(
        "https://gitlab.com/api/v4/user", status=401, json={"message": "401 Unauthorized"}
    )
    assert callback(alice, "gitlab", params).status_code == 302
    assert stored(user, "gitlab").account_id == ""
    mocked.replace(responses.GET, "https://gitlab.com/api/v4/user", json=USER_REPLY)
    assert tokens.get_access_token(user, "gitlab") == TOKEN_REPLY["access_token"]
    assert stored(user, "gitlab").account_name == "john_smith"
    assert len(me.calls) == 1
