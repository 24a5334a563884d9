"""The ``x`` preset against X's documented replies: PKCE required, HTTP Basic for a
confidential client, ``offline.access`` for a refresh token (rotated at each refresh),
the account from ``/2/users/me`` and revocation at ``/2/oauth2/revoke``."""

from __future__ import annotations

import pytest
import responses
from django.contrib.auth import get_user_model
from django.test import Client

from auth_code_flow_django import tokens
from auth_code_flow_django.flow import code_challenge_s256

from .documented import DocumentedReplies, Reply, Revocation
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

TOKEN_URL = "https://api.x.com/2/oauth2/token"
REVOKE_URL = "https://api.x.com/2/oauth2/revoke"
ME_URL = "https://api.x.com/2/users/me"

#: docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token (step 3).
TOKEN_REPLY = {
    "token_type": "bearer",
    "expires_in": 7200,
    "access_token": "VGNibzFWSWREZm01bjN1N3dicWlNUG1oa2xRRVNNdmVHelJGY2hPWGxNd2dxOjE2MjIxNjA4",
    "scope": "tweet.read users.read offline.access",
    "refresh_token": "bWRWa3gzdnk3WHRGU1o0bmRRcTJ5VUxWX1lZTDdJSUtmaWcxbTVxdEFXcW5tOjE2MjIxNDc3",
}
#: docs.x.com/x-api/users/get-my-user.
ME_REPLY = {"data": {"id": "2244994945", "name": "X Dev", "username": "TwitterDev"}}

DOCUMENTED = DocumentedReplies(
    slug="x",
    token_url=TOKEN_URL,
    # docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token shows no error
    # reply: RFC 6749 5.2's shape, with X's wording.
    refused_code=Reply(
        400,
        {
            "error": "invalid_request",
            "error_description": "Value passed for the authorization code was invalid.",
        },
    ),
    # docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code shows no error
    # reply for a refresh: RFC 6749 5.2's invalid_grant, with X's wording.
    refused_refresh=Reply(
        400,
        {"error": "invalid_grant", "error_description": "Value passed for the token was invalid."},
    ),
    # docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token ("Revoke token":
    # POST token and token_type_hint to /2/oauth2/revoke).
    revocation=Revocation(
        REVOKE_URL, Reply(200, {"revoked": True}), hints=True, client_auth="basic"
    ),
)


def connected(alice: Client, mocked: responses.RequestsMock) -> None:
    mocked.post(TOKEN_URL, json=TOKEN_REPLY)
    mocked.get(ME_URL, json=ME_REPLY)
    _params, response = connect(alice, "x")
    assert response.status_code == 302, response.content


def test_connect_uses_pkce_and_basic_auth(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    """docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token (the authorize
    URL with code_challenge; a confidential client's Basic header on the token request)."""
    endpoint, params = authorize(alice, "x")
    assert endpoint == "https://x.com/i/oauth2/authorize"
    assert params["code_challenge_method"] == "S256"
    assert params["scope"] == "tweet.read users.read offline.access"
    token_call = mocked.post(TOKEN_URL, json=TOKEN_REPLY)
    me = mocked.get(ME_URL, json=ME_REPLY)
    assert callback(alice, "x", params).status_code == 302
    request = token_call.calls[0].request
    assert request.headers["Authorization"] == basic("x")
    sent = form(token_call.calls[0])
    assert (sent["grant_type"], sent["code"]) == ("authorization_code", CODE)
    assert code_challenge_s256(sent["code_verifier"]) == params["code_challenge"]
    assert "client_secret" not in sent
    assert me.calls[0].request.headers["Authorization"] == "Bearer " + TOKEN_REPLY["access_token"]
    token = stored(user, "x")
    assert (token.account_id, token.account_name) == ("2244994945", "TwitterDev")


def test_refresh_rotates_the_refresh_token(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    """docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code ("Refresh
    tokens": grant_type=refresh_token)."""
    connected(alice, mocked)
    expire(user, "x")
    rotated = {**TOKEN_REPLY, "access_token": "access-2", "refresh_token": "refresh-2"}
    call = mocked.replace(responses.POST, TOKEN_URL, json=rotated)
    assert tokens.get_access_token(user, "x") == "access-2"
    assert form(call.calls[0]) == {
        "grant_type": "refresh_token",
        "refresh_token": TOKEN_REPLY["refresh_token"],
    }
    assert call.calls[0].request.headers["Authorization"] == basic("x")
    assert stored(user, "x").refresh_token == "refresh-2"
