"""The ``bitbucket`` preset against Bitbucket Cloud's documented replies: client
credentials in HTTP Basic, a token reply that says ``scopes`` (not ``scope``), and no
revocation endpoint.

Pages followed:
- https://developer.atlassian.com/cloud/bitbucket/oauth-2/
- https://developer.atlassian.com/cloud/bitbucket/rest/api-group-users/#api-user-get
"""

from __future__ import annotations

import pytest
import responses
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client

from auth_code_flow_django import tokens
from auth_code_flow_django.exceptions import ReauthorizationRequiredError

from .documented import DocumentedReplies
from .steps import (
    authorize,
    basic,
    callback,
    expire,
    form,
    stored,
)

pytestmark = pytest.mark.django_db

TOKEN_URL = "https://bitbucket.org/site/oauth2/access_token"
USER_URL = "https://api.bitbucket.org/2.0/user"

# "OAuth on Bitbucket Cloud", making requests: the access token reply.
TOKEN_REPLY = {
    "access_token": "C-Mv1f3e2AmSKMDEHpxvRT6w7ZJwZ8LjLiAsHX8iVi2DyLLr4",
    "scopes": "account",
    "token_type": "bearer",
    "expires_in": 7200,
    "state": "authorization_code",
    "refresh_token": "Tk9uNFk5VGpLRzF3R3N4ZkV",
}
# "Get current user", abridged.
USER_REPLY = {
    "type": "user",
    "uuid": "{d301aafa-d676-4ee0-88be-962be7417567}",
    "username": "evzijst",
    "nickname": "evzijst",
    "display_name": "Erik van Zijst",
    "account_id": "557058:c0b72ad0-1cb5-4018-9cdc-0cde8492c443",
}

DOCUMENTED = DocumentedReplies(
    slug="bitbucket",
    token_url=TOKEN_URL,
    # OAuth 2.0 on Bitbucket Cloud documents no revocation endpoint.
    revocation=False,
)


def test_connect_with_basic_credentials_and_scopes_in_the_reply(
    alice: Client, user: AbstractBaseUser, mocked: responses.RequestsMock
) -> None:
    """OAuth 2.0, authorization code grant: the client authenticates with HTTP Basic;
    the reply names its scopes in "scopes" (the requested scope is kept)."""
    endpoint, params = authorize(alice, "bitbucket")
    assert endpoint == "https://bitbucket.org/site/oauth2/authorize"
    token_call = mocked.post(TOKEN_URL, json=TOKEN_REPLY)
    mocked.get(USER_URL, json=USER_REPLY)
    assert callback(alice, "bitbucket", params).status_code == 302
    request = token_call.calls[0].request
    assert request.headers["Authorization"] == basic("bitbucket")
    assert "client_secret" not in form(token_call.calls[0])
    token = stored(user, "bitbucket")
    assert token.scope == "account"
    assert (token.account_id, token.account_name) == (
        "{d301aafa-d676-4ee0-88be-962be7417567}",
        "evzijst",
    )


def test_refresh_and_a_dead_refresh_token(
    user: AbstractBaseUser, mocked: responses.RequestsMock
) -> None:
    """OAuth 2.0, refresh tokens: grant_type=refresh_token with Basic credentials; a
    bad one is answered HTTP 400 invalid_grant."""
    from tests.conftest import make_token

    make_token(user, "bitbucket", refresh_token="Tk9uNFk5VGpLRzF3R3N4ZkV")
    expire(user, "bitbucket")
    renewed = {**TOKEN_REPLY, "access_token": "D-Nw2g4f3BnTLNEFIqywSU7x8AKxA9MkMjBtIY9jWj3E"}
    call = mocked.post(TOKEN_URL, json=renewed)
    assert tokens.get_access_token(user, "bitbucket") == renewed["access_token"]
    assert call.calls[0].request.headers["Authorization"] == basic("bitbucket")
    assert form(call.calls[0])["refresh_token"] == "Tk9uNFk5VGpLRzF3R3N4ZkV"

    expire(user, "bitbucket")
    mocked.replace(
        responses.POST,
        TOKEN_URL,
        status=400,
        json={"error_description": "Invalid refresh_token", "error": "invalid_grant"},
    )
    with pytest.raises(ReauthorizationRequiredError):
        tokens.get_access_token(user, "bitbucket")
    assert stored(user, "bitbucket").needs_reauthorization
