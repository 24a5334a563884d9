"""The ``dropbox`` preset against Dropbox's documented replies: ``token_access_type=offline``
for a refresh token, the account named in the token reply, refresh replies without a
refresh token, and no RFC 7009 revocation."""

from __future__ import annotations

import pytest
import responses
from django.contrib.auth import get_user_model
from django.test import Client

from auth_code_flow_django import tokens

from .documented import DocumentedReplies, Reply
from .steps import connect, expire, form, stored

User = get_user_model()

pytestmark = pytest.mark.django_db

TOKEN_URL = "https://api.dropboxapi.com/oauth2/token"

#: developers.dropbox.com/oauth-guide: the code exchange with token_access_type=offline.
TOKEN_REPLY = {
    "access_token": "sl.AbX9y6Fe3AuH5o66-gmJpR032jwAwQPIVVzWXZNkdzcYT02akC2de219dZi6gxYPVnYP",
    "expires_in": 14400,
    "token_type": "bearer",
    "scope": "account_info.read files.content.read",
    "refresh_token": "nBiM85CZALsAAAAAAAAAAQXHBoNpNutK4ngsXHsqW4iGz9tisb3JyjGqikMJIYbd",
    "account_id": "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc",
    "uid": "12345",
}

#: The refresh reply: a new access token only.
REFRESH_REPLY = {
    "access_token": "sl.u.AbX9y6Fe3AuH5o66-gmJpR032jwAwQPIVVzWXZNkdzcYT02akC2de219dZi6gx",
    "expires_in": 14400,
    "token_type": "bearer",
}

DOCUMENTED = DocumentedReplies(
    slug="dropbox",
    token_url=TOKEN_URL,
    # developers.dropbox.com/oauth-guide ("Implementing code flow", token_access_type,
    # PKCE; no scope: the app's scopes, as set in the App Console) and
    # dropbox.com/developers/documentation/http/documentation (oauth2/token: account_id,
    # uid). No identity request: the reply names the account (its name needs a POST).
    authorize_url="https://www.dropbox.com/oauth2/authorize",
    authorize_params={
        "token_access_type": "offline",
        "code_challenge_method": "S256",
        "scope": None,
    },
    token_reply=TOKEN_REPLY,
    account=(TOKEN_REPLY["account_id"], ""),
    stored_fields={"extra": {"account_id": TOKEN_REPLY["account_id"], "uid": "12345"}},
    # dropbox.com/developers/documentation/http/documentation (oauth2/token errors).
    refused_code=Reply(
        400, {"error": "invalid_grant", "error_description": "code doesn't exist or has expired"}
    ),
    # dropbox.com/developers/documentation/http/documentation (oauth2/token errors).
    refused_refresh=Reply(
        400,
        {"error": "invalid_grant", "error_description": "refresh token is invalid or revoked"},
    ),
    # dropbox.com/developers/documentation/http/documentation (auth/token/revoke takes
    # the token as a Bearer header, not RFC 7009): nothing is sent.
    revocation=False,
)


def test_refresh_keeps_the_refresh_token(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    """dropbox.tech/developers/using-oauth-2-0-with-offline-access: the refresh reply
    carries a new short-lived access token and no refresh token."""
    mocked.post(TOKEN_URL, json=TOKEN_REPLY)
    connect(alice, "dropbox")
    expire(user, "dropbox")
    call = mocked.replace(responses.POST, TOKEN_URL, json=REFRESH_REPLY)
    assert tokens.get_access_token(user, "dropbox") == REFRESH_REPLY["access_token"]
    assert form(call.calls[0])["refresh_token"] == TOKEN_REPLY["refresh_token"]
    token = stored(user, "dropbox")
    assert token.refresh_token == TOKEN_REPLY["refresh_token"]
    assert token.extra["account_id"] == TOKEN_REPLY["account_id"]  # kept


def test_api_calls_go_to_the_api_and_content_hosts(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    """dropbox.com/developers/documentation/http/documentation: RPC endpoints on
    api.dropboxapi.com, content endpoints on content.dropboxapi.com."""
    mocked.post(TOKEN_URL, json=TOKEN_REPLY)
    connect(alice, "dropbox")
    account = mocked.post(
        "https://api.dropboxapi.com/2/users/get_current_account", json={"email": "a@x"}
    )
    session = tokens.authorized_session(user, "dropbox")
    session.post("https://api.dropboxapi.com/2/users/get_current_account")
    assert account.calls[0].request.headers["Authorization"] == (
        "Bearer " + TOKEN_REPLY["access_token"]
    )
